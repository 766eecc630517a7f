"""The app the uvicorn-json-*.log captures come from: FastAPI under uvicorn with
python-json-logger on uvicorn's loggers (log.json, passed as `--log-config`) and
structlog's JSON for a handler's own error. Run in the pystack image with
python-json-logger 4.2 and structlog 26.1 on PYTHONPATH, this file as japp.py:

    docker run -d --name jcap -v "$PWD:/jl:ro" -v "$EXTRA:/extra:ro" -e PYTHONPATH=/extra:/jl \
        -w /jl checkpoint-local/pystack:dev uvicorn japp:app --host 0.0.0.0 --port 8000 --log-config /jl/log.json

then requests at once (`curl … &`) and `docker logs --timestamps --since …`, unedited.
"""
import asyncio

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse

structlog.configure(processors=[
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso"),
    structlog.processors.dict_tracebacks,
    structlog.processors.JSONRenderer(),
])
log = structlog.get_logger()

app = FastAPI()


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/debug/boom")
async def boom(after: float = 0.0):
    await asyncio.sleep(after)
    raise RuntimeError(f"boom: a deliberate unhandled error after {after}s")


@app.get("/users/{uid}")
def user(uid: int):
    return {"id": uid, "name": {}[uid]}


@app.get("/pay")
async def pay(after: float = 0.0):
    await asyncio.sleep(after)
    try:
        raise TimeoutError("upstream payments timed out after 3.0s")
    except TimeoutError:
        log.exception("payment failed", order=42)
    return JSONResponse(status_code=502, content={"detail": "payment failed"})
