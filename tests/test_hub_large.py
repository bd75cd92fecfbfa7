"""Large LFS files stream to and from disk: the server's memory does not grow with the file size (slow)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from helpers.local_hub import start_cli_server

SIZE_MB = int(os.environ.get("DISTILKOBERT_HUB_LARGE_MB", "64"))


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to read the server's memory")
def test_large_lfs_file_streams_with_flat_server_memory(tmp_path):
    from huggingface_hub import HfApi, hf_hub_download

    big = tmp_path / "big.bin"
    h = hashlib.sha256()
    with open(big, "wb") as f:
        block = os.urandom(1024 * 1024)
        for i in range(SIZE_MB):
            chunk = block[i % 997:] + block[:i % 997]  # distinct blocks, cheap to make
            f.write(chunk)
            h.update(chunk)
    proc, url = start_cli_server(tmp_path / "data", tmp_path)
    try:
        api = HfApi(endpoint=url, token="any")
        api.create_repo("big/model")
        base = _rss_kb(proc.pid, "VmRSS")
        t0 = time.time()
        api.upload_file(path_or_fileobj=str(big), path_in_repo="big.bin", repo_id="big/model")
        up = time.time() - t0
        t0 = time.time()
        path = hf_hub_download("big/model", "big.bin", endpoint=url, token="any", cache_dir=tmp_path / "cache")
        down = time.time() - t0
        peak = _rss_kb(proc.pid, "VmHWM")
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        assert digest.hexdigest() == h.hexdigest()
        growth_mb = (peak - base) / 1024
        print(f"\n{SIZE_MB} MB: upload {SIZE_MB / up:.0f} MB/s, download {SIZE_MB / down:.0f} MB/s, "
              f"server RSS {base / 1024:.0f} MB -> peak {peak / 1024:.0f} MB")
        assert growth_mb < 32, f"server memory grew by {growth_mb:.0f} MB for a {SIZE_MB} MB file"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
