"""c08's demonstration, turned into the module's companion notebook by ``make notebooks``."""

# %% [markdown]
# ### c08.1 to c08.5: the service as a subprocess, asked over HTTP
# The real server on a free loopback port (Cranfield indexed in memory), then the probes,
# `/embed` and `/search` with httpx, as any client would. It stops in the last cell.

# %%
import httpx

from c08_serving_ops import ServerProcess

server = ServerProcess(["--in-memory"], env={"C08_RERANK": "false"})
server.start(300)
client = httpx.Client(base_url=server.url, timeout=60)
print("health:", client.get("/health").json(), "ready:", client.get("/ready").status_code)

# %%
vectors = client.post("/embed", json={"inputs": ["supersonic flow", "boundary layer"]}).json()  # one list per text
first, second = vectors
cosine = sum(a * b for a, b in zip(first, second, strict=True))
print(f"{len(vectors)} vectors of {len(first)} numbers; cosine {cosine:.3f}")
for hit in client.post("/search", json={"query": "boundary layer transition", "top_k": 3}).json()["hits"]:
    print(hit)

# %% [markdown]
# ### c08.7: what the service measured
# The Prometheus metrics of the requests above (a few of the lines).

# %%
lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith("http_requests_total")]
print("\n".join(lines[:8]))
client.close()
server.stop()
