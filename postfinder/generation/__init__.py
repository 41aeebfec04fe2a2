"""Text generation: the protocol, llama.cpp and fake backends, and a bounded async queue."""
