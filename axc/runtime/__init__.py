"""The runtime side of axc (DESIGN.md section 7): what a board runs, on the simulator.

- `axc.runtime.session`: `InferenceSession`, pyaxengine's API over one `.axmodel`.
- `axc.runtime.engine`: the ax-llm flow over a `llm_build` output folder (chunked prefill,
  decode with the KV cache, post model, sampling).
- `axc.runtime.tokenizer` / `axc.runtime.tokenizer_server`: a local or HTTP tokenizer and
  the ax-llm tokenizer HTTP protocol.
"""
