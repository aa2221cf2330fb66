"""Command-line entry: python3 -m train <command> [options]."""
import sys

COMMANDS = {
    "pack": "build a training pack (uint8 crops and clips)",
    "fit": "train the intra or inter model (CPU / CUDA / torchrun DDP)",
    "gpu_window": "short GPU training window from a preloaded pack",
    "eval": "proxy evaluation of a float model against JPEG / x264 / x265",
    "probe": "temporal probe of an inter model: repeated and panned pictures as P-frames",
    "relambda": "move a model to another lambda range (q tables remapped), for fine-tuning",
    "macs": "MACs per luma pixel and parameters per sub-network -> models/README.md",
    "export_pt": "write the EMA weights of a run to a small .pt file",
    "export": "integer .lvcm export, or integer-vs-float comparison (export compare ...)",
    "qat": "quantisation-aware fine-tuning of a checkpoint",
    "golden": "regenerate the golden vectors of the C tests",
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print("usage: python3 -m train <command> [options]\n")
        for k, v in COMMANDS.items():
            print("  %-11s %s" % (k, v))
        sys.exit(2)
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "pack":
        from .pack_cmd import main as m
    elif cmd == "fit":
        from .fit import main as m
    elif cmd == "gpu_window":
        from .gpu_window import main as m
    elif cmd == "eval":
        from .evaluate import main as m
    elif cmd == "export_pt":
        from .export_pt import main as m
    elif cmd == "export":
        from .export import main as m
    elif cmd == "qat":
        from .qat import main as m
    elif cmd == "golden":
        from .golden import main as m
    elif cmd == "probe":
        from .probe import main as m
    elif cmd == "relambda":
        from .relambda import main as m
    else:
        from .macs import main as m
    m(argv)


if __name__ == "__main__":
    main()
