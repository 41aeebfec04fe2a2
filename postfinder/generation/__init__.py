"""Text generation: the protocol and the llama.cpp and fake backends."""
