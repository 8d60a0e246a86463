"""torchrun, runnable as `python3 launch.py [torchrun options] train.py [train.py options]`.

It is torch.distributed.run (what the `torchrun` command runs) with one fix: PyTorch before 2.0 on
Python 3.11+ fails at start with "AttributeError: 'NoneType' object has no attribute 'get'" (its
Std.from_str cannot find the zero flag, IntFlag iteration changed in 3.11). On other versions it
changes nothing; `torchrun` works the same where it works.
"""
import torch.distributed.elastic.multiprocessing.api as _api

_from_str = _api.Std.from_str.__func__


def _fixed_from_str(cls, vm):
    value = _from_str(cls, vm)
    if value is None:
        return cls(int(vm))
    if isinstance(value, dict):
        return {k: (cls(0) if v is None else v) for k, v in value.items()}
    return value


_api.Std.from_str = classmethod(_fixed_from_str)

if __name__ == '__main__':
    from torch.distributed.run import main

    main()
