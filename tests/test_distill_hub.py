"""Checkpoint pushing survives a Hub outage: the push is retried later, the local checkpoint is never removed."""

from __future__ import annotations

from types import SimpleNamespace

from distilkobert.distill.publishing import CheckpointPushCallback


def test_checkpoint_push_survives_hub_outage(tmp_path, caplog):
    from huggingface_hub import HfApi

    from distilkobert.hub.server import HubServer

    ckpt = tmp_path / "out" / "checkpoint-5"
    ckpt.mkdir(parents=True)
    (ckpt / "model.safetensors").write_bytes(b"\x00" * 2048)
    (ckpt / "trainer_state.json").write_text('{"global_step": 5}')
    server = HubServer(tmp_path / "hub").start()
    port, url = server.port, server.url
    server.stop()  # the Hub is down

    cb = CheckpointPushCallback("test-org/outage", "v1", "v1-checkpoints", retries=0, endpoint=url)
    cb.final_wait_s = 0.05
    args = SimpleNamespace(output_dir=str(tmp_path / "out"))
    state = SimpleNamespace(global_step=5, is_world_process_zero=True)
    cb.on_save(args, state, None)  # must not raise
    assert cb.pending == [5]
    assert "will retry later" in caplog.text
    assert (ckpt / "model.safetensors").stat().st_size == 2048

    with HubServer(tmp_path / "hub", port=port) as back:  # the Hub is back
        cb.on_train_end(args, state, None)
        assert cb.pending == []
        api = HfApi(endpoint=back.url)
        refs = api.list_repo_refs("test-org/outage")
        assert "v1-step-5" in {t.name for t in refs.tags}
        assert "v1-checkpoints" in {b.name for b in refs.branches}
        assert "model.safetensors" in api.list_repo_files("test-org/outage", revision="v1-step-5")
    assert (ckpt / "model.safetensors").exists()
