"""The PyTorch engine of Saliency Studio (engine contract: engines/contract.ts).

Run as ``python -m sgt_torch --run-dir DIR --data DATA_DIR [--resume]`` with this
package's parent on PYTHONPATH; normally started by the Node launcher
``dist/engine-torch.js`` (engines/torch/main.ts), which finds the interpreter and exports
the run's data set as .npy files first (data/export.ts).
"""
