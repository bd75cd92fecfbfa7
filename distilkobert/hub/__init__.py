"""The local Hugging Face Hub-compatible server and the helpers that publish to a Hub.

- ``server.HubServer`` / ``distilkobert hub serve``: the stdlib-only server (``storage`` holds its data).
- ``endpoint.configure_hub_environment()``: the endpoint policy (HF_ENDPOINT, else the in-process local Hub when
  asked for, else huggingface.co); ``endpoint.require_hub()`` / ``resolve_model_reference()``: one-line failures.
- ``publish.publish_folder()``: upload a folder as an immutable, tagged version (with retries).

Import-light on purpose: nothing here imports huggingface_hub, datasets or transformers at import time.
"""
