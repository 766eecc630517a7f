"""A small FastAPI service whose generated OpenAPI 3.1 document is the test
fixture openapi.json next to this file (FastAPI writes `anyOf: [.., {type: null}]`
for Optional fields and a 422 HTTPValidationError on every operation).

Regenerate: python3 -m venv /tmp/v && /tmp/v/bin/pip install fastapi &&
            /tmp/v/bin/python app.py > openapi.json
"""

import datetime
import json
from enum import Enum
from typing import Optional

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

app = FastAPI(title="Inventory", version="2.3.0")


class Status(str, Enum):
    active = "active"
    archived = "archived"


class Dimensions(BaseModel):
    width_cm: float
    height_cm: float


class Product(BaseModel):
    id: int
    name: str = Field(min_length=1, max_length=80)
    price: float = Field(ge=0)
    status: Status
    description: Optional[str] = None
    dimensions: Optional[Dimensions] = None
    tags: list[str] = []
    updated_at: Optional[datetime.datetime] = None


class ProductIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    price: float = Field(ge=0)
    description: Optional[str] = None


class Page(BaseModel):
    items: list[Product]
    total: int
    next: Optional[str]


class Message(BaseModel):
    detail: str


@app.get("/products", response_model=Page, tags=["products"])
def list_products(limit: int = Query(10, ge=1, le=100), status: Optional[Status] = None):
    raise NotImplementedError


@app.post("/products", response_model=Product, status_code=201, tags=["products"])
def create_product(body: ProductIn):
    raise NotImplementedError


@app.get("/products/{product_id}", response_model=Product, tags=["products"], responses={404: {"model": Message}})
def get_product(product_id: int):
    raise HTTPException(404)


@app.delete("/products/{product_id}", status_code=204, tags=["products"], responses={404: {"model": Message}})
def delete_product(product_id: int):
    raise HTTPException(404)


@app.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    print(json.dumps(app.openapi(), indent=2))
