"""
Statistical watermarks in model runtimes, over the numpy core :mod:`aigclabel.watermark`.

- :mod:`.transformers`: ``GreenListLogitsProcessor`` / ``GumbelLogitsProcessor`` for Hugging Face
  transformers (extra ``[transformers]``; bring your own torch build).
- :mod:`.llama_cpp`: ``WatermarkLogitsProcessor``, a llama-cpp-python ``logits_processor`` (numpy only).
- :mod:`.vllm`: vLLM's native watermark keyed from the policy (``--watermark-config``) and
  ``watermark_opt_out_fields`` for the ingress.
- :mod:`.toy_model`: a controlled-entropy n-gram model over token ids, to test and calibrate
  watermarks without a neural model.

Nothing is imported here: each module loads its own dependencies. See docs/watermarks.md.

.. versionadded:: 0.3.0
"""
