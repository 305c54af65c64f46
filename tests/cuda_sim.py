"""A simulated CUDA runtime on the CPU: streams, devices and graphs that record what they are asked to do.

The CUDA paths of n2d (the captured training step) cannot run without a GPU,
so :func:`install` replaces the parts of ``torch.cuda`` they use with fakes
that keep the state a real runtime keeps (the current device, each device's
current stream, which stream is capturing) and record every capture,
replay and synchronisation. ``torch.cuda.graph`` itself stays PyTorch's own
class, so its order of operations (stream context, ``capture_begin``,
``capture_end``) is the real one.

The simulated tensors are CPU tensors standing for data on a GPU other than
the current one: the fake current device starts as ``cuda:0`` while the data
lives on :attr:`SimCUDA.data_device` (``cpu``). A capture is faithful to CUDA:

- Work is captured only if the capturing stream belongs to the data's device.
  Otherwise the kernels go to the data device's own stream, run at once and
  are not captured, so the graph is empty and its replays do nothing (what
  PyTorch issues 87894 and 87794 describe).
- Captured work does not run: every tensor the captured operations write is
  restored when the capture ends.
- :meth:`FakeCUDAGraph.replay` re-runs the recorded ATen operations on the
  same tensor objects (CUDA graphs' static addresses), writing the results of
  out-of-place operations into the tensors the capture produced, so replays
  see whatever was copied into the static inputs.

PyTorch's own optimizer check (``_accelerator_graph_capture_health_check``,
which raises for a non-capturable optimizer inside a capture and warns for a
capturable one outside) runs too, because ``torch.accelerator`` reports the
simulated CUDA device and its current stream.
"""

from __future__ import annotations

import contextlib

import torch
import torch.optim.adam as torch_adam
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from n2d.autoencoder import _training


def _key(device) -> str:
    if isinstance(device, int):
        return f"cuda:{device}"
    return str(torch.device(device))


class FakeStream:
    """A stream of one (simulated) device; records the streams it was made to wait for."""

    def __init__(self, device=None, priority=0, *, sim=None):
        self.sim = sim
        self.device = torch.device(_key(sim.current_device if device is None else device))
        self.capturing = False
        self.waited_for: list[FakeStream] = []

    def wait_stream(self, other) -> None:
        self.waited_for.append(other)

    def is_capturing(self) -> bool:
        return self.capturing

    def synchronize(self) -> None:
        self.sim.events.append(("synchronize", _key(self.device)))

    def __repr__(self):
        return f"FakeStream({self.device}, id={id(self):#x})"


class _Recorder(TorchDispatchMode):
    """Records ATen calls and keeps a copy of every tensor they write, to undo them."""

    def __init__(self):
        super().__init__()
        self.ops: list = []
        self.saved: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        for i, arg in enumerate(func._schema.arguments):
            if arg.alias_info is not None and arg.alias_info.is_write:
                value = args[i] if i < len(args) else kwargs.get(arg.name)
                for t in tree_flatten(value)[0]:
                    if isinstance(t, torch.Tensor) and id(t) not in self.saved:
                        self.saved[id(t)] = (t, t.clone())
        out = func(*args, **kwargs)
        self.ops.append((func, args, kwargs, out))
        return out

    def undo(self) -> None:
        with torch.no_grad():
            for t, before in self.saved.values():
                t.copy_(before)


def _replay_op(func, args, kwargs, out) -> None:
    schema = func._schema
    if func.namespace == "profiler":
        return
    writes = any(a.alias_info is not None and a.alias_info.is_write for a in schema.arguments)
    views = any(r.alias_info is not None for r in schema.returns)
    if views and not writes:
        return  # the recorded view still aliases its (updated) base
    fresh = func(*args, **kwargs)
    if writes:
        return  # in place: it has just written its operands again
    for old, new in zip(tree_flatten(out)[0], tree_flatten(fresh)[0]):
        if isinstance(old, torch.Tensor):
            old.copy_(new)


class FakeCUDAGraph:
    """``torch.cuda.CUDAGraph``: captures ATen work of the data's device, replays it."""

    def __init__(self, *, sim):
        self.sim = sim
        self.ops: list = []
        self.stream = None
        self.device_at_capture = None
        self.recorder = None
        sim.graphs.append(self)

    def capture_begin(self, *pool, **kwargs) -> None:
        sim = self.sim
        stream = sim.current_stream(None)
        if stream.capturing:
            raise RuntimeError("simulated: this stream is already capturing")
        stream.capturing = True
        self.stream = stream
        self.device_at_capture = _key(sim.current_device)
        sim.events.append(("capture_begin", _key(stream.device)))
        if _key(stream.device) == _key(sim.data_device):
            self.recorder = _Recorder()
            self.recorder.__enter__()

    def capture_end(self) -> None:
        sim = self.sim
        if self.recorder is not None:
            self.recorder.__exit__(None, None, None)
            self.recorder.undo()
            self.ops = self.recorder.ops
            self.recorder = None
        self.stream.capturing = False
        sim.events.append(("capture_end", _key(self.stream.device)))
        if sim.fail_capture:
            raise RuntimeError("simulated: operation not permitted when stream is capturing")

    def replay(self) -> None:
        self.sim.replays += 1
        with torch.no_grad():
            for op in self.ops:
                _replay_op(*op)


class SimCUDA:
    """The simulated runtime's state and its fakes of ``torch.cuda``'s functions."""

    def __init__(self, data_device="cpu"):
        self.data_device = torch.device(data_device)
        self.current_device = torch.device("cuda:0")
        self.streams: dict[str, FakeStream] = {}  # current stream per device
        self.defaults: dict[str, FakeStream] = {}
        self.graphs: list[FakeCUDAGraph] = []
        self.events: list[tuple[str, str]] = []
        self.replays = 0
        self.fail_capture = False

    # -- torch.cuda functions ---------------------------------------------- #

    def Stream(self, device=None, priority=0, **kwargs):
        return FakeStream(device, priority, sim=self)

    def default_stream(self, device=None) -> FakeStream:
        key = _key(self.current_device if device is None else device)
        if key not in self.defaults:
            self.defaults[key] = FakeStream(key, sim=self)
        return self.defaults[key]

    def current_stream(self, device=None) -> FakeStream:
        key = _key(self.current_device if device is None else device)
        return self.streams.get(key) or self.default_stream(key)

    def set_stream(self, stream) -> None:
        # As torch._C._cuda_setStream: the stream's device becomes current too.
        self.streams[_key(stream.device)] = stream
        self.current_device = stream.device

    @contextlib.contextmanager
    def stream(self, stream):
        # As torch.cuda.StreamContext: restore both devices' streams and the device on exit.
        device, previous = self.current_device, self.current_stream(stream.device)
        self.set_stream(stream)
        try:
            yield
        finally:
            self.streams[_key(stream.device)] = previous
            self.current_device = device

    @contextlib.contextmanager
    def device(self, device):
        previous = self.current_device
        self.current_device = torch.device(_key(device))
        try:
            yield
        finally:
            self.current_device = previous

    def synchronize(self, device=None) -> None:
        self.events.append(("synchronize", _key(self.current_device if device is None else device)))

    def CUDAGraph(self, *args, **kwargs):
        return FakeCUDAGraph(sim=self)

    def current_device_index(self) -> int:
        return 0 if self.current_device.index is None else self.current_device.index


def install(monkeypatch, data_device="cpu") -> SimCUDA:
    """Replace ``torch.cuda``'s stream, device and graph API with a :class:`SimCUDA` and return it.

    ``n2d.autoencoder._training`` then takes its CUDA path (fused Adam, graph capture) for
    CPU tensors.
    """
    sim = SimCUDA(data_device)
    cuda = torch.cuda
    for name in ("Stream", "current_stream", "default_stream", "set_stream", "stream", "device",
                 "synchronize", "CUDAGraph"):
        monkeypatch.setattr(cuda, name, getattr(sim, name))
    monkeypatch.setattr(cuda, "current_device", sim.current_device_index)
    monkeypatch.setattr(cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch._C, "_host_emptyCache", lambda: None, raising=False)
    # torch.cuda.graph keeps a class-wide default capture stream; start without one.
    monkeypatch.setattr(cuda.graph, "default_capture_stream", None)
    # Adam's capture health check asks torch.accelerator which stream is current.
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda check_available=False: torch.device("cuda"))
    monkeypatch.setattr(torch.accelerator, "current_stream", lambda device=None: sim.current_stream(device))
    # Capturable Adam checks the parameters' device type; the simulated GPU's tensors are CPU tensors.
    supported = torch_adam._get_capturable_supported_devices
    monkeypatch.setattr(
        torch_adam,
        "_get_capturable_supported_devices",
        lambda *a, **k: [*supported(*a, **k), sim.data_device.type],
    )
    monkeypatch.setattr(_training, "_is_cuda", lambda device: _key(device) == _key(sim.data_device))
    return sim
