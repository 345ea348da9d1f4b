"""The pipelined folder run: decode, network and post-processing overlapped, results in order."""
