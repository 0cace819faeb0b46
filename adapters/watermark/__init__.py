"""
Watermark adapters for model runtimes (transformers, llama-cpp-python, vLLM).
"""
