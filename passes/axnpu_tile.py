"""axnpu-tile ("tiling op"): split every instruction into tiles that fit the chip's OCM.

Postcondition (state `axnpu`, still in `vocm`): every instruction's working set (the bytes of
all its operands) is at most `budget` = `ocm_bytes * ocm-fraction` (default a third, so a
tile, the next tile's loads and the live activations fit together: double buffering), except
single rows that cannot be split. In detail:
- a matmul whose weight (and scale, zero, bias) a `dma_load` from a weight buffer brought
  into vocm for it alone becomes, per weight tile `[tn, tk]` (n-major, k-minor): the DMAs of
  that tile into a fresh vocm range, then one matmul per M tile. The weight tile depends only
  on the weight's shape, dtypes and the chip (never on M), so every group of a program tiles a
  weight alike and `axnpu-build-ops` can store it tile-contiguous once for all groups. When
  even 16 rows of K do not fit, K is split too: the tiles accumulate into an f32 vocm
  accumulator (`accumulate`), then one eltwise cast per N tile writes the result.
  Large weights get at least `cores * conv_per_core` N tiles so the CONV units share them;
- other matmuls (activation x activation) split along N and M when too big, and along K
  (f32 accumulator, then a cast) when a `w_kn` operand's K rows span too much;
- TENG ops (eltwise, norms, rope, softmax) split by rows, into at least `cores` row blocks
  when they are large, so the TENG units of all cores can share them;
- DMAs split into row blocks (or byte chunks) whose on-chip extent (strides included) is at
  most `budget` bytes, so a row scattered into every head of a per-head block does not make
  all heads one temporary;
- `ddr_bytes` leaves room after the group's buffers for every vocm temporary to spill once.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from axc.diagnostics import OpError
from axc.dialects import axnpu as npu
from axc.lowering_layout import align
from axc.progress import Stage, stage
from axc.state import require_state

MIN_TN = 16
"""Smallest N tile (rows of the weight) before K is split instead."""
LARGE_TENG = 16384
"""Elements from which a TENG op is spread over the cores."""
MAX_TILES = 4096
"""Tiles of one instruction beyond which the program would be unreasonable."""


def _bits(v: npu.ViewAttr) -> int:
    return npu.DTYPE_BITS[v.dtype.data]


def _vbytes(v: npu.ViewAttr | None) -> int:
    return 0 if v is None else v.numel * _bits(v) // 8


def flat2d(v: npu.ViewAttr) -> npu.ViewAttr:
    """The view as [rows, C] with its row stride (always expressible: views are 2-D)."""
    shape = v.get_shape()
    return npu.View(v.space, v.offset, (v.rows, shape[-1]), v.dtype, v.row_stride_bytes.data)


def rows_of(v: npu.ViewAttr, r0: int, r1: int) -> npu.ViewAttr:
    """Rows [r0, r1) of the [rows, C] form of v."""
    shape = v.get_shape()
    stride = v.row_stride_bytes.data
    return npu.View(v.space, v.offset.data + r0 * stride, (r1 - r0, shape[-1]), v.dtype,
                    stride)


def cols_of(v: npu.ViewAttr, c0: int, c1: int) -> npu.ViewAttr:
    """Columns [c0, c1) of a 2-D view."""
    rows = v.get_shape()[0]
    bits = _bits(v)
    return npu.View(v.space, v.offset.data + c0 * bits // 8, (rows, c1 - c0), v.dtype,
                    v.row_stride_bytes.data)


def pow2_floor(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def ceil_to(a: int, b: int) -> int:
    return ceil_div(a, b) * b


def shifted(pieces: list[tuple[int, int]], by: int) -> list[tuple[int, int]]:
    return [(a + by, b + by) for a, b in pieces]


def chunks(total: int, size: int) -> list[tuple[int, int]]:
    size = max(1, size)
    return [(a, min(a + size, total)) for a in range(0, total, size)]


@dataclass(frozen=True)
class WeightTiling:
    """How one weight [N, K] is tiled (a function of shape, dtypes and chip only)."""

    tn: int
    tk: int


def weight_tiling(n: int, k: int, w_bits: int, group: int, budget: int, units: int
                  ) -> WeightTiling:
    """Tiles of at most half the budget (the other half: x and out tiles)."""
    half = budget // 2
    per_row_k = k * w_bits // 8 + 8  # + scale/zero/bias per row
    tk = k
    if MIN_TN * per_row_k > half:
        step = max(group, 64)
        tk = max(step, (half // MIN_TN * 8 // w_bits) // step * step)
        tk = min(tk, k)
    per_row = tk * w_bits // 8 + 8
    tn = max(1, half // per_row)
    if tn >= MIN_TN:
        tn = tn // MIN_TN * MIN_TN
    if n >= units * MIN_TN:  # at least one tile per CONV unit
        spread = -(-n // units)
        tn = min(tn, -(-spread // MIN_TN) * MIN_TN)
    return WeightTiling(min(tn, n), tk)


SINK_SCAN = 4096
"""How far (instructions) `sink_copies` looks for the first user of a copy."""


def sink_copies(ops: list[Operation]) -> list[Operation]:
    """Move every DDR load and OCM copy down to just before the first instruction that
    conflicts with it (reads or writes what it writes, or writes what it reads). Semantics
    are unchanged (it passes only independent instructions), but data is brought on chip
    when it is used: the decode KV cache of each head is loaded, gets its new row and is
    consumed one head after the other instead of all heads being loaded up front (4.7 MB
    for MiniCPM 2.4B), which axnpu-insert-ddr-swap would spill. The scheduler still
    prefetches it as early as the dependencies allow."""
    def movable(op: Operation) -> bool:
        return isinstance(op, npu.DmaCopyOp) or (isinstance(op, npu.DmaLoadOp)
                                                 and op.src.space.data == "ddr")

    out = list(ops)
    for p in range(len(out) - 1, -1, -1):
        op = out[p]
        if not movable(op):
            continue
        writes, reads = op.writes(), op.reads()
        q = p + 1
        end = min(len(out), p + SINK_SCAN)
        while q < end:
            other = out[q]
            other_w = other.writes()
            if any(a.overlaps(b) for a in writes for b in other.reads() + other_w) or any(
                    a.overlaps(b) for a in reads for b in other_w):
                break
            q += 1
        if q == end and q < len(out):
            continue  # no user in sight: leave it where it is
        while q - 1 > p and movable(out[q - 1]):  # keep the order of the loads of one user
            q -= 1
        if q > p + 1:
            out.insert(q - 1, out.pop(p))
    return out


GATED = frozenset({"swiglu", "geglu", "geglu_tanh"})
"""Eltwise kinds of a gated MLP (act(gate) * up) that `streamed_mlp` computes tile by tile."""


def mlp_tiling(n: int, k: int, nd: int, w_bits: int, wd_bits: int, group: int, budget: int,
               units: int) -> tuple[int, int]:
    """(tj, tnd) of a streamed MLP: intermediate column tiles tj (gate/up N tile = down K
    tile) and down N tiles tnd. Tiles are an eighth of the budget, so the tiles of several
    j are in flight beside x and the accumulators (with a quarter, the OCM ring held about
    one j and the MLP ran serially: Qwen2.5-1.5B prefill 16.5 ms, now 8.0). Shapes and chip
    only (never M): decode and prefill tile the weights alike."""
    quarter = budget // 8  # small tiles: several intermediate tiles in flight in the OCM ring
    step = max(MIN_TN, group)
    tj = max(step, quarter // (k * w_bits // 8 + 8) // step * step)
    if n >= units * step:  # at least one tile per CONV unit
        tj = min(tj, ceil_to(ceil_div(n, units), step))
    tj = min(tj, n)
    tnd = max(MIN_TN, quarter // (tj * wd_bits // 8 + 8) // MIN_TN * MIN_TN)
    if nd >= units * MIN_TN:
        tnd = min(tnd, ceil_to(ceil_div(nd, units), MIN_TN))
    return tj, min(tnd, nd)


@dataclass(frozen=True)
class AttentionChain:
    """One prefill attention as `convert-axh-to-axnpu` emits it: q/k/v weight matmuls over
    whole `[T, heads x head_dim]` activations, rope on q and k, per query head a scores
    matmul, softmax and P x V into the token-major attention output, the K / V cache
    outputs stored whole, and o_proj reading the whole output. `heads[g]` lists the query
    heads of KV head g as (query head, scores matmul, softmax, P x V)."""

    q_mm: npu.MatmulOp
    k_mm: npu.MatmulOp
    v_mm: npu.MatmulOp
    rope_q: npu.RopeOp
    rope_k: npu.RopeOp
    heads: dict[int, list[tuple]]
    stores: list[npu.DmaStoreOp]
    o_mm: npu.MatmulOp
    head_dim: int
    v_dim: int
    group: int
    kv_heads: int

    def members(self) -> list[Operation]:
        ops: list[Operation] = [self.q_mm, self.k_mm, self.v_mm, self.rope_q, self.rope_k,
                                *self.stores, self.o_mm]
        return ops + [op for chain in self.heads.values() for _, *three in chain
                      for op in three]


def _ids(ops: list[Operation]) -> list[int]:
    return [id(op) for op in ops]


def _column(v: npu.ViewAttr, base: npu.ViewAttr) -> int | None:
    """The first column of `v` inside the contiguous 2-D `base` when `v` is a column block
    of it starting at row 0, else None."""
    rel = v.offset.data - base.offset.data
    width = base.row_bytes
    if (v.space.data != base.space.data or v.dtype.data != base.dtype.data or rel < 0
            or rel + v.row_bytes > width or v.rows > base.rows
            or (v.rows > 1 and v.row_stride_bytes.data != width)):
        return None
    return rel * 8 // _bits(v)


def _moved(v: npu.ViewAttr, base: npu.ViewAttr, c0: int, tile: npu.ViewAttr) -> npu.ViewAttr:
    """`v` (rows and columns of `base`) in `tile`, which holds base's columns from c0."""
    rel = v.offset.data - base.offset.data
    r, c = divmod(rel, base.row_bytes)
    c -= c0 * _bits(v) // 8
    assert 0 <= c and c + v.row_bytes <= tile.row_bytes, "column block outside the tile"
    return npu.View("vocm", tile.offset.data + r * tile.row_stride_bytes.data + c,
                    v.get_shape(), v.dtype, tile.row_stride_bytes.data)


class GroupTiler:
    def __init__(self, group: npu.GroupOp, budget: int, units: int, cores: int,
                 ocm_bytes: int = 0, stream_attention: bool = True):
        self.group = group
        self.stream_attention = stream_attention
        self.budget = budget
        self.ocm = ocm_bytes or budget * 3
        self.units = units
        self.cores = cores
        self.out: list[Operation] = []
        ends = [a.end for ins in group.instructions() for a in ins.reads() + ins.writes()
                if a.space == "vocm"]
        self.vocm_end = align(max(ends, default=0))
        self.row_block = self._row_block(group.instructions())
        self.weight_spans = [
            (b.view.offset.data, b.view.access().end) for b in group.buffers()
            if b.kind.data == "weight"
        ]

    def _row_block(self, instrs: list[npu.InstructionOp]) -> int:
        """One row block (a power of two) for every row split of the group: tiles of all
        instructions then touch the same row ranges of an activation, so each block is its
        own temporary for axnpu-insert-ddr-swap instead of the whole activation."""
        block = 1 << 30
        for ins in instrs:
            if isinstance(ins, npu.MatmulOp):
                m, k, n = ins.mkn()
                per_row = (k * _bits(ins.x) + min(n, 1024) * 32) // 8
                rows = m
            elif ins.eu_kind() == "teng" and ins.OUTPUTS:
                views = [v for _, v in ins._views(ins.INPUTS + ins.OUTPUTS)]  # noqa: SLF001
                rows = max(v.rows for v in views)
                per_row = sum(_vbytes(v) for v in views if v.rows == rows) // max(1, rows)
            else:
                continue
            if rows > 1 and per_row:
                block = min(block, max(1, self.budget // per_row))
        return pow2_floor(block)

    def alloc(self, nbytes: int) -> int:
        off = self.vocm_end
        self.vocm_end = align(off + max(1, nbytes))
        return off

    def is_weight(self, region: npu.RegionAttr) -> bool:
        return any(s <= region.offset.data and region.end <= e for s, e in self.weight_spans)

    def run(self, bar: Stage | None = None) -> list[Operation]:
        instrs = self.group.instructions()
        readers: dict[int, int] = {}
        for ins in instrs:
            for acc in ins.reads():
                if acc.space == "vocm":
                    readers[acc.offset] = readers.get(acc.offset, 0) + 1
        # weight loads that feed exactly one matmul operand, by their vocm offset
        feeding: dict[int, npu.DmaLoadOp] = {}
        for ins in instrs:
            if (isinstance(ins, npu.DmaLoadOp) and ins.dst.space.data == "vocm"
                    and ins.rows is None and self.is_weight(ins.src)
                    and readers.get(ins.dst.offset.data) == 1):
                feeding[ins.dst.offset.data] = ins
        absorbed: set[int] = set()
        plans: dict[int, dict[str, npu.DmaLoadOp]] = {}
        for ins in instrs:
            if isinstance(ins, npu.MatmulOp) and ins.w.space.data == "vocm":
                loads = {}
                for name in ("w", "scale", "zero", "bias"):
                    v = ins.properties.get(name)
                    if isinstance(v, npu.ViewAttr):
                        load = feeding.get(v.offset.data)
                        if load is not None and load.dst.size_bytes.data == _vbytes(v) \
                                and v.is_contiguous:
                            loads[name] = load
                if "w" in loads and not ins.w_kn and not ins.accumulate:
                    plans[id(ins)] = loads
                    absorbed.update(id(ld) for ld in loads.values())
        mlps = self._find_mlps(instrs, plans, readers)
        deferred = {id(op) for mlp in mlps.values() for op in mlp[:3]}
        attentions = self._find_attentions(instrs, plans) if self.stream_attention else {}
        deferred |= {id(op) for a in attentions.values() for op in a.members()
                     if op is not a.o_mm}
        for ins in instrs:
            ins.detach()
        for ins in instrs:
            if bar is not None:
                bar.advance()
            if id(ins) in absorbed or id(ins) in deferred:
                if id(ins) in absorbed:
                    ins.erase(safe_erase=False)
                continue
            if id(ins) in mlps:
                self.streamed_mlp(*mlps[id(ins)], plans)
            elif id(ins) in attentions:
                self.streamed_attention(attentions[id(ins)], plans)
            elif isinstance(ins, npu.MatmulOp) and id(ins) in plans:
                self.weight_matmul(ins, plans[id(ins)])
            elif isinstance(ins, npu.MatmulOp):
                self.act_matmul(ins)
            elif isinstance(ins, npu.DmaLoadOp | npu.DmaStoreOp | npu.DmaCopyOp):
                self.dma(ins)
            elif ins.eu_kind() == "teng":
                self.teng(ins)
            else:
                self.out.append(ins)
        return sink_copies(self.out)

    # -- streamed MLP --------------------------------------------------------------------------

    def _find_mlps(self, instrs: list[npu.InstructionOp], plans: dict, readers: dict[int, int]
                   ) -> dict[int, tuple]:
        """gate/up weight matmuls -> gated eltwise -> down weight matmul chains, keyed by the
        down matmul: (gate, up, eltwise, down). Each intermediate is read by the next op only,
        whole, so the chain can be computed column tile by column tile."""

        def whole(v: npu.ViewAttr | None, of: npu.ViewAttr) -> bool:
            return (v is not None and v.space.data == "vocm" and v.offset.data == of.offset.data
                    and (v.rows, v.get_shape()[-1]) == (of.rows, of.get_shape()[-1])
                    and v.is_contiguous and of.is_contiguous
                    and v.dtype.data == of.dtype.data)

        producer = {ins.out.offset.data: ins for ins in instrs
                    if isinstance(ins, npu.MatmulOp) and id(ins) in plans
                    and ins.out.space.data == "vocm" and ins.out.is_contiguous
                    and len(ins.out.get_shape()) == 2}
        found: dict[int, tuple] = {}
        for ins in instrs:
            if not (isinstance(ins, npu.EltwiseOp) and ins.get_kind().value in GATED
                    and ins.b is not None and ins.c is None and ins.scalar is None
                    and ins.out.space.data == "vocm" and ins.out.is_contiguous):
                continue
            gate, up = producer.get(ins.a.offset.data), producer.get(ins.b.offset.data)
            if gate is None or up is None or gate is up:
                continue
            if not (whole(ins.a, gate.out) and whole(ins.b, up.out)
                    and gate.out.get_shape() == up.out.get_shape()
                    and (ins.out.rows, ins.out.get_shape()[-1]) == gate.out.get_shape()
                    and readers.get(gate.out.offset.data) == 1
                    and readers.get(up.out.offset.data) == 1
                    and readers.get(ins.out.offset.data) == 1
                    and gate.mkn() == up.mkn() and gate.bias is None and up.bias is None):
                continue
            _, _, n = gate.mkn()
            down = next((d for d in instrs if isinstance(d, npu.MatmulOp) and id(d) in plans
                         and whole(d.x, ins.out)), None)
            if down is None or (down.group_size is not None
                                and n % down.group_size.value.data):
                continue
            # tiles of whole gate rows and one row of x must fit (else the usual tiling splits K)
            _, k, _ = gate.mkn()
            gs = down.group_size.value.data if down.group_size is not None else 0
            tj, tnd = mlp_tiling(n, k, down.mkn()[2], _bits(gate.w), _bits(down.w), gs,
                                 self.budget, self.units)
            w_tile = tj * k * _bits(gate.w) // 8
            if (w_tile + k * _bits(gate.x) // 8 + tj * 4 > self.budget
                    or tnd * tj * _bits(down.w) // 8 + tj * 2 + tnd * 4 > self.budget):
                continue
            found[id(down)] = (gate, up, ins, down)
        return found

    def streamed_mlp(self, gate: npu.MatmulOp, up: npu.MatmulOp, act: npu.EltwiseOp,
                     down: npu.MatmulOp, plans: dict) -> None:
        """down(act(gate(x), up(x))) one intermediate column tile j at a time: gate_j and
        up_j ([M, tj], each its own vocm tile), act_j, then down's K tile j accumulates into
        f32 output tiles. Every weight is read once and the [M, intermediate] activations are
        never whole in OCM; only when the f32 accumulators of down do not fit beside x are
        they taken in column blocks, and the act tiles re-read once per block."""
        m, k, n = gate.mkn()
        _, _, nd = down.mkn()
        gs = down.group_size.value.data if down.group_size is not None else 0
        tj, tnd = mlp_tiling(n, k, nd, _bits(gate.w), _bits(down.w), gs, self.budget,
                             self.units)
        x = gate.x
        xb = _bits(x) // 8
        # M tiles: what the budget leaves beside the weight tile, along the group's row
        # blocks (x stays in per-block temporaries, so its producers overlap the MLP)
        w_tile = tj * k * _bits(gate.w) // 8
        tm = max(1, min(m, (self.budget - w_tile) // (k * xb + tj * 4), self.row_block))
        if tm < m:
            tm = pow2_floor(tm)
        wd_tile = tnd * tj * _bits(down.w) // 8
        dtm = max(1, min(m, (self.budget - wd_tile) // (tj * 2 + tnd * 4)))
        if dtm < m:
            dtm = pow2_floor(dtm)
        ocm = self.ocm
        x_bytes = m * k * xb
        per_tile_acc = m * tnd * 4
        acc_total = m * nd * 4
        # fused: x and every accumulator stay resident and each act tile is consumed as soon
        # as it is made; otherwise (8B-class prefill) all act tiles are made first (spilled
        # once) and down runs in accumulator blocks of half the OCM, re-reading them per block
        fused = acc_total + x_bytes <= ocm * 5 // 8
        tiles_per_block = max(1, (acc_total if fused else ocm // 2) // per_tile_acc)
        n_tiles = chunks(nd, tnd)
        blocks = [n_tiles[i:i + tiles_per_block]
                  for i in range(0, len(n_tiles), tiles_per_block)]
        # independent accumulation chains (N tiles x M tiles) for every CONV unit
        while dtm > 16 and len(blocks[0]) * ceil_div(m, dtm) < self.units:
            dtm //= 2
        act_tiles: dict[int, npu.ViewAttr] = {}
        gate_loads, up_loads, down_loads = plans[id(gate)], plans[id(up)], plans[id(down)]

        def make_act(j0: int, j1: int) -> npu.ViewAttr:
            outs = []
            for mm, loads in ((gate, gate_loads), (up, up_loads)):
                tile = npu.View("vocm", self.alloc(m * (j1 - j0) * mm.out.row_bytes // n),
                                (m, j1 - j0), mm.out.dtype)
                self._weight_k_tile(mm, loads, j0, j1, 0, k, True, {}, [
                    (rows_of(x, m0, m1), rows_of(tile, m0, m1)) for m0, m1 in chunks(m, tm)])
                outs.append(tile)
            h = npu.View("vocm", self.alloc(m * (j1 - j0) * act.out.row_bytes // n),
                         (m, j1 - j0), act.out.dtype)
            # spread over the TENG units: one act tile is on the critical path of its j
            self.teng(npu.EltwiseOp(act.get_kind().value, outs[0], h, b=outs[1]),
                      min_pieces=self.cores)
            return h

        if not fused:
            for j0, j1 in chunks(n, tj):
                act_tiles[j0] = make_act(j0, j1)
        for block in blocks:
            accs = {n0: npu.View("vocm", self.alloc(m * (n1 - n0) * 4), (m, n1 - n0), "f32")
                    for n0, n1 in block}
            scales: dict[int, dict[str, npu.ViewAttr]] = {}
            for kt, (j0, j1) in enumerate(chunks(n, tj)):
                if j0 not in act_tiles:
                    act_tiles[j0] = make_act(j0, j1)
                h = act_tiles[j0]
                for n0, n1 in block:
                    scales[n0] = self._weight_k_tile(
                        down, down_loads, n0, n1, j0, j1, kt == 0, scales.get(n0, {}),
                        [(rows_of(h, m0, m1), rows_of(accs[n0], m0, m1))
                         for m0, m1 in chunks(m, dtm)])
            for n0, n1 in block:  # out rows follow the group's row blocks (temporaries)
                for m0, m1 in chunks(m, min(dtm, self.row_block)):
                    self.out.append(npu.EltwiseOp(
                        "cast", rows_of(accs[n0], m0, m1),
                        cols_of(rows_of(down.out, m0, m1), n0, n1)))
        for op in (gate, up, act, down):
            op.erase(safe_erase=False)

    # -- streamed prefill attention ------------------------------------------------------------

    def _find_attentions(self, instrs: list[npu.InstructionOp], plans: dict
                         ) -> dict[int, AttentionChain]:
        """Prefill attention chains keyed by their o_proj matmul (see `AttentionChain`)."""
        found: dict[int, AttentionChain] = {}
        for o_mm in instrs:
            if isinstance(o_mm, npu.MatmulOp) and id(o_mm) in plans:
                chain = self._attention_chain(instrs, plans, o_mm)
                if chain is not None:
                    found[id(o_mm)] = chain
        return found

    def _attention_chain(self, instrs: list[npu.InstructionOp], plans: dict,
                         o_mm: npu.MatmulOp) -> AttentionChain | None:
        def vocm(acc: npu.Access) -> bool:
            return acc.space == "vocm"

        def writers(acc: npu.Access) -> list[npu.InstructionOp]:
            return [i for i in instrs if any(w.overlaps(acc) for w in i.writes())]

        def readers(acc: npu.Access) -> list[npu.InstructionOp]:
            return [i for i in instrs if any(r.overlaps(acc) for r in i.reads())]

        def sole_writer(v: npu.ViewAttr, kind: type) -> npu.InstructionOp | None:
            found = writers(v.access())
            if len(found) != 1 or not isinstance(found[0], kind):
                return None
            return found[0]

        def whole(v: npu.ViewAttr, of: npu.ViewAttr) -> bool:
            return (v.space.data == "vocm" and v.offset.data == of.offset.data
                    and v.is_contiguous and of.is_contiguous and v.numel == of.numel
                    and v.dtype.data == of.dtype.data)

        x = o_mm.x
        m, k_att, _ = o_mm.mkn()
        if m < 2 or x.space.data != "vocm" or not x.is_contiguous or o_mm.w_kn or \
                o_mm.accumulate:
            return None
        att = x.access()
        pvs = writers(att)
        if not pvs or not all(isinstance(p, npu.MatmulOp) and p.w_kn and not p.accumulate
                              and p.bias is None and p.scale is None for p in pvs):
            return None
        if sum(p.out.numel for p in pvs) != x.numel or _ids(readers(att)) != [id(o_mm)]:
            return None
        heads = []
        for pv in pvs:
            sm = sole_writer(pv.x, npu.SoftmaxOp)
            if sm is None or not whole(pv.x, sm.out) or _ids(readers(sm.out.access())) != [id(pv)]:
                return None
            qk = sole_writer(sm.x, npu.MatmulOp)
            if (qk is None or qk.w_kn or qk.accumulate or qk.scale is not None
                    or qk.bias is not None or not whole(sm.x, qk.out)
                    or _ids(readers(qk.out.access())) != [id(sm)]):
                return None
            heads.append((qk, sm, pv))
        qk0, _, pv0 = heads[0]
        rope_q = sole_writer(qk0.x, npu.RopeOp)
        rope_k = sole_writer(qk0.w, npu.RopeOp)
        v_mm = sole_writer(pv0.w, npu.MatmulOp)
        if rope_q is None or rope_k is None or v_mm is None or rope_q is rope_k:
            return None
        q_mm = sole_writer(rope_q.x, npu.MatmulOp)
        k_mm = sole_writer(rope_k.x, npu.MatmulOp)
        projections = (q_mm, k_mm, v_mm)
        if q_mm is None or k_mm is None or len({id(p) for p in projections}) != 3:
            return None
        for mm in projections:
            if (id(mm) not in plans or not mm.out.is_contiguous or mm.out.space.data != "vocm"
                    or len(mm.out.get_shape()) != 2 or mm.mkn()[0] != m):
                return None
            _, kk, nn = mm.mkn()
            gs = mm.group_size.value.data if mm.group_size is not None else 64
            if weight_tiling(nn, kk, _bits(mm.w), gs, self.budget, self.units).tk < kk:
                return None  # K would be split: keep the plain tiling
        for rope, mm in ((rope_q, q_mm), (rope_k, k_mm)):
            if (not whole(rope.x, mm.out) or not rope.out.is_contiguous
                    or rope.out.access().overlaps(rope.x.access())
                    or _ids(readers(mm.out.access())) != [id(rope)]):
                return None
        d = rope_q.head_dim.value.data
        if rope_k.head_dim.value.data != d:
            return None
        nq, nk, nv = (mm.mkn()[2] for mm in projections)
        if nk % d or nq % nk or o_mm.x.dtype.data != pv0.out.dtype.data:
            return None
        hkv = nk // d
        if nv % hkv or k_att % hkv:
            return None
        dv = nv // hkv
        grp = nq // nk
        qr, kr, vv = rope_q.out, rope_k.out, v_mm.out
        stores = []
        for src in (kr, vv):  # the K / V cache outputs, written whole from the activation
            for r in readers(src.access()):
                if isinstance(r, npu.MatmulOp):
                    continue
                if not (isinstance(r, npu.DmaStoreOp) and r.rows is None
                        and r.src.offset.data == src.offset.data
                        and r.src.size_bytes.data == _vbytes(src)):
                    return None
                stores.append(r)
        by_kv: dict[int, list[tuple]] = {}
        for qk, sm, pv in heads:
            cq, ck = _column(qk.x, qr), _column(qk.w, kr)
            cv, co = _column(pv.w, vv), _column(pv.out, x)
            if None in (cq, ck, cv, co) or qk.x.rows != m or pv.out.rows != m:
                return None
            h, g = cq // d, ck // d
            if (cq % d or qk.x.get_shape()[-1] != d or ck != g * d or qk.w.get_shape()[-1] != d
                    or h // grp != g or cv != g * dv or pv.w.get_shape()[-1] != dv
                    or co != h * dv or pv.out.get_shape()[-1] != dv or qk.w.rows != m):
                return None
            by_kv.setdefault(g, []).append((h, qk, sm, pv))
        if sorted(by_kv) != list(range(hkv)) or any(len(v) != grp for v in by_kv.values()):
            return None
        if o_mm.group_size is not None and (grp * dv) % o_mm.group_size.value.data:
            return None
        # everything between the first member and o_proj may move after it: nothing else may
        # read what the chain writes (vocm is never reused before tiling, so nothing
        # overwrites what it reads)
        members = {id(i) for i in (*projections, rope_q, rope_k, *stores)}
        members |= {id(i) for h in heads for i in h}
        pos = {id(i): p for p, i in enumerate(instrs)}
        first, last = min(pos[i] for i in members), pos[id(o_mm)]
        if any(pos[id(s)] < last for s in stores):
            return None
        written = [a for i in instrs if id(i) in members for a in i.writes() if vocm(a)]
        for i in instrs[first:last]:
            if id(i) not in members and any(r.overlaps(w) for r in i.reads() for w in written):
                return None
        return AttentionChain(q_mm, k_mm, v_mm, rope_q, rope_k, by_kv, stores, o_mm, d, dv,
                              grp, hkv)

    def _projection(self, mm: npu.MatmulOp, loads: dict, c0: int, c1: int) -> npu.ViewAttr:
        """Output columns [c0, c1) of a weight matmul into a fresh [M, c1 - c0] vocm tile,
        with the weight tiles `weight_matmul` would use (whole rows: K is not split)."""
        m, k, n = mm.mkn()
        gs = mm.group_size.value.data if mm.group_size is not None else 0
        tn = weight_tiling(n, k, _bits(mm.w), gs or 64, self.budget, self.units).tn
        tm = max(1, min(m, (self.budget // 2) // (k * _bits(mm.x) // 8 + tn * 4)))
        if tm < m:
            tm = min(pow2_floor(tm), self.row_block)
        tile = npu.View("vocm", self.alloc(m * (c1 - c0) * _bits(mm.out) // 8), (m, c1 - c0),
                        mm.out.dtype)
        for n0, n1 in shifted(chunks(c1 - c0, tn), c0):
            self._weight_k_tile(mm, loads, n0, n1, 0, k, True, {}, [
                (rows_of(mm.x, m0, m1), cols_of(rows_of(tile, m0, m1), n0 - c0, n1 - c0))
                for m0, m1 in chunks(m, tm)])
        return tile

    def streamed_attention(self, a: AttentionChain, plans: dict) -> None:
        """Prefill attention one KV head (with its query heads) at a time: the head's columns
        of q, k and v (weight rows of q/k/v_proj), rope, its K/V cache columns stored, scores,
        softmax and P x V into the head's own output tile; then o_proj with K split by head,
        accumulating in f32 per output tile, one cast each. The [T, heads x head_dim]
        activations are never whole in OCM (MiniCPM 2.4B: 4 x 590 KB, which
        axnpu-insert-ddr-swap spilled)."""
        m = a.o_mm.mkn()[0]
        d, dv, grp = a.head_dim, a.v_dim, a.group
        kr, vv, att = a.rope_k.out, a.v_mm.out, a.o_mm.x
        out_tiles = []
        for g in range(a.kv_heads):
            k_t = self._projection(a.k_mm, plans[id(a.k_mm)], g * d, (g + 1) * d)
            v_t = self._projection(a.v_mm, plans[id(a.v_mm)], g * dv, (g + 1) * dv)
            q_t = self._projection(a.q_mm, plans[id(a.q_mm)], g * grp * d, (g + 1) * grp * d)
            tiles = {}
            for rope, src in ((a.rope_k, k_t), (a.rope_q, q_t)):
                dst = npu.View("vocm", self.alloc(_vbytes(src) * _bits(rope.out)
                                                  // _bits(src)), src.get_shape(),
                               rope.out.dtype)
                props = dict(rope.properties)
                props.update(x=src, out=dst)
                for key in ("id", "deps", "eu", "cycles"):
                    props.pop(key, None)
                self.teng(npu.RopeOp.create(properties=props, attributes=dict(rope.attributes)))
                tiles[id(rope)] = dst
            qr_t, kr_t = tiles[id(a.rope_q)], tiles[id(a.rope_k)]
            for st in a.stores:  # this head's columns of the K / V cache outputs
                src, tile, width = (kr, kr_t, d) if st.src.offset.data == kr.offset.data \
                    else (vv, v_t, dv)
                row = width * _bits(src) // 8
                self.dma(npu.DmaStoreOp(
                    npu.Region("vocm", tile.offset.data, m * row),
                    npu.Region("ddr", st.dst.offset.data + g * row, (m - 1) * src.row_bytes
                               + row), rows=m, row_bytes=row, src_stride_bytes=row,
                    dst_stride_bytes=src.row_bytes))
            o_t = npu.View("vocm", self.alloc(m * grp * dv * _bits(att) // 8), (m, grp * dv),
                           att.dtype)
            out_tiles.append(o_t)
            for _, qk, sm, pv in a.heads[g]:
                self.act_matmul(npu.MatmulOp(_moved(qk.x, a.rope_q.out, g * grp * d, qr_t),
                                             _moved(qk.w, kr, g * d, kr_t), qk.out))
                self.teng(sm)
                self.act_matmul(npu.MatmulOp(pv.x, _moved(pv.w, vv, g * dv, v_t),
                                             _moved(pv.out, att, g * grp * dv, o_t),
                                             w_kn=True))
        self._o_proj(a, out_tiles, plans[id(a.o_mm)])
        for op in (a.q_mm, a.k_mm, a.v_mm, a.rope_q, a.rope_k, *a.stores, a.o_mm):
            op.erase(safe_erase=False)
        for chain in a.heads.values():
            for _, qk, _, pv in chain:
                qk.erase(safe_erase=False)
                pv.erase(safe_erase=False)

    def _o_proj(self, a: AttentionChain, tiles: list[npu.ViewAttr], loads: dict) -> None:
        """o_proj over the per-head output tiles: K tile g = head g's columns. Per row
        super-block and N tile an f32 accumulator takes the K tiles in head order, then one
        cast writes the output; super-blocks (the weight streamed once per block) only when
        the input tiles and the output rows do not fit in 5/8 of the OCM together."""
        mm = a.o_mm
        m, k, n = mm.mkn()
        kt_w = a.group * a.v_dim
        w_bits = _bits(mm.w)
        half = self.budget // 2
        tn = max(MIN_TN, half // (kt_w * w_bits // 8 + 8) // MIN_TN * MIN_TN)
        if n >= self.units * MIN_TN:
            tn = min(tn, ceil_to(ceil_div(n, self.units), MIN_TN))
        tn = min(tn, n)
        xb = _bits(mm.x) // 8
        tm = max(1, min(m, half // (kt_w * xb + tn * 4), self.row_block))
        if tm < m:
            tm = pow2_floor(tm)
        per_row = k * xb + n * _bits(mm.out) // 8
        sb = m
        if m * per_row > self.ocm * 5 // 8:
            sb = max(tm, pow2_floor((self.ocm // 2) // per_row) // tm * tm)
        for s0, s1 in chunks(m, sb):
            for n0, n1 in chunks(n, tn):
                acc = npu.View("vocm", self.alloc((s1 - s0) * (n1 - n0) * 4),
                               (s1 - s0, n1 - n0), "f32")
                extra: dict[str, npu.ViewAttr] = {}
                for kt, tile in enumerate(tiles):
                    extra = self._weight_k_tile(
                        mm, loads, n0, n1, kt * kt_w, (kt + 1) * kt_w, kt == 0, extra,
                        [(rows_of(tile, m0, m1), rows_of(acc, m0 - s0, m1 - s0))
                         for m0, m1 in shifted(chunks(s1 - s0, tm), s0)])
                for m0, m1 in shifted(chunks(s1 - s0, min(tm, self.row_block)), s0):
                    self.out.append(npu.EltwiseOp(
                        "cast", rows_of(acc, m0 - s0, m1 - s0),
                        cols_of(rows_of(mm.out, m0, m1), n0, n1)))

    def _weight_k_tile(self, mm: npu.MatmulOp, loads: dict, n0: int, n1: int, k0: int, k1: int,
                       first: bool, extra: dict[str, npu.ViewAttr],
                       pairs: list[tuple[npu.ViewAttr, npu.ViewAttr]]
                       ) -> dict[str, npu.ViewAttr]:
        """Weight rows [n0, n1) x K tile [k0, k1) of weight matmul `mm`: the tile's DMA, its
        scale (and zero) rows (every K tile for grouped scales; per-channel ones on the
        `first` K tile only, later tiles pass back the returned `extra`), the bias on the
        first, then one matmul per (input rows, output rows) pair, accumulating after the
        first K tile. Every tiling of a weight matmul (plain, streamed MLP, streamed
        attention) emits its K tiles through here."""
        gs = mm.group_size.value.data if mm.group_size is not None else 0
        w = self._load_weight_rows(loads["w"].src, mm.w, n0, n1, k0, k1)
        g0, g1 = (k0 // gs, k1 // gs) if gs else (0, 1)
        if gs or first:
            extra = self._per_channel(mm, loads, n0, n1, g0, g1)
        bias = self._bias(mm, loads, n0, n1) if mm.bias is not None and first else None
        for xt, ot in pairs:
            self.out.append(npu.MatmulOp(
                xt, w, ot, scale=extra.get("scale"), zero=extra.get("zero"),
                group_size=gs if gs and g1 - g0 > 1 else None, bias=bias,
                accumulate=not first))
        return extra

    def _load_weight_rows(self, src: npu.RegionAttr, view: npu.ViewAttr, n0: int, n1: int,
                          c0: int, c1: int) -> npu.ViewAttr:
        """DMA rows [n0, n1) x cols [c0, c1) of a weight operand (in DDR at `src`) into a
        fresh vocm tile."""
        bits = _bits(view)
        cols = view.get_shape()[-1]
        row_bytes = cols * bits // 8
        tile_row = (c1 - c0) * bits // 8
        dst = self.alloc((n1 - n0) * tile_row)
        base = src.offset.data + n0 * row_bytes + c0 * bits // 8
        if (c1 - c0) == cols or n1 - n0 == 1:
            size = (n1 - n0) * tile_row
            self.out.append(npu.DmaLoadOp(npu.Region("ddr", base, size),
                                          npu.Region("vocm", dst, size)))
        else:
            span = (n1 - n0 - 1) * row_bytes + tile_row
            self.out.append(npu.DmaLoadOp(
                npu.Region("ddr", base, span), npu.Region("vocm", dst, (n1 - n0) * tile_row),
                rows=n1 - n0, row_bytes=tile_row, src_stride_bytes=row_bytes,
                dst_stride_bytes=tile_row))
        shape = (n1 - n0, c1 - c0) if len(view.get_shape()) == 2 else (c1 - c0,)
        return npu.View("vocm", dst, shape, view.dtype)

    def _per_channel(self, mm: npu.MatmulOp, loads: dict, n0: int, n1: int, g0: int, g1: int
                     ) -> dict[str, npu.ViewAttr]:
        """Scale / zero rows [n0, n1) (scale groups [g0, g1)) of a weight matmul."""
        extra = {}
        for name in ("scale", "zero"):
            v = mm.properties.get(name)
            if isinstance(v, npu.ViewAttr):
                extra[name] = (self._load_weight_rows(loads[name].src, v, n0, n1, g0, g1)
                               if name in loads else rows_of(v, n0, n1))
        return extra

    def _bias(self, mm: npu.MatmulOp, loads: dict, n0: int, n1: int) -> npu.ViewAttr:
        assert mm.bias is not None
        _, _, n = mm.mkn()
        bv = flat2d(mm.bias)
        if "bias" in loads:
            bias = self._load_weight_rows(loads["bias"].src, npu.View("vocm", 0, (1, n),
                                                                      bv.dtype), 0, 1, n0, n1)
        else:
            bias = cols_of(bv, n0, n1)
        return npu.View("vocm", bias.offset, (n1 - n0,), bias.dtype)

    # -- matmul ------------------------------------------------------------------------------

    def weight_matmul(self, mm: npu.MatmulOp, loads: dict[str, npu.DmaLoadOp]) -> None:
        m, k, n = mm.mkn()
        w_bits = _bits(mm.w)
        gs = mm.group_size.value.data if mm.group_size is not None else k
        wt = weight_tiling(n, k, w_bits, gs if mm.group_size is not None else 64,
                           self.budget, self.units)
        tn, tk = wt.tn, wt.tk
        if mm.group_size is not None and tk % gs:
            tk = k  # a K tile must hold whole scale groups
        split_k = tk < k
        x = mm.x
        out_dtype = mm.out.dtype.data
        acc = mm.out
        if split_k and out_dtype != "f32":
            acc = npu.View("vocm", self.alloc(m * n * 4), (m, n), "f32")
        xb = _bits(x) // 8
        per_m = tk * xb + tn * 4
        tm = max(1, min(m, (self.budget // 2) // per_m))
        if tm < m:
            tm = min(pow2_floor(tm), self.row_block)
        if -(-n // tn) * -(-k // tk) * -(-m // tm) > MAX_TILES:
            raise OpError(mm, f"axnpu-tile: {m}x{k}x{n} matmul needs too many tiles")

        # x and out of every row must stay in OCM while the weight streams past them; when
        # they do not fit together (8B-class prefill), rows are taken in super-blocks and the
        # weight is streamed once per super-block: re-reading a weight is cheaper than
        # spilling and reloading a modified output for every weight tile
        per_row = k * xb + n * _bits(mm.out) // 8 + (n * 4 if acc is not mm.out else 0)
        sb = m
        if tm < m and m * per_row > self.ocm // 2:
            sb = max(tm, pow2_floor((self.ocm // 2) // per_row) // tm * tm)
        for s0, s1 in chunks(m, sb):
            for n0, n1 in chunks(n, tn):
                extra: dict[str, npu.ViewAttr] = {}
                for kt, (k0, k1) in enumerate(chunks(k, tk)):
                    extra = self._weight_k_tile(
                        mm, loads, n0, n1, k0, k1, kt == 0, extra,
                        [(cols_of(rows_of(x, m0, m1), k0, k1), cols_of(rows_of(acc, m0, m1),
                                                                       n0, n1))
                         for m0, m1 in shifted(chunks(s1 - s0, tm), s0)])
                if acc is not mm.out:
                    for m0, m1 in shifted(chunks(s1 - s0, tm), s0):
                        self.out.append(npu.EltwiseOp(
                            "cast", cols_of(rows_of(acc, m0, m1), n0, n1),
                            cols_of(rows_of(mm.out, m0, m1), n0, n1)))

    def act_matmul(self, mm: npu.MatmulOp) -> None:
        m, k, n = mm.mkn()
        total = _vbytes(mm.x) + _vbytes(mm.w) + _vbytes(mm.out)
        # a `w_kn` operand ([K, N], e.g. the per-head V block of P x V) spans all its K rows
        # whatever its N tile: when that span takes the working set over the budget, K is
        # split too (f32 accumulator, then one cast per tile, as for weight matmuls)
        tk = k
        w_stride = mm.w.row_stride_bytes.data
        if (mm.w_kn is not None and not mm.accumulate and k > 1 and mm.bias is None
                and mm.scale is None
                and _vbytes(mm.x) + _vbytes(mm.out) + k * w_stride > self.budget):
            tk = max(1, (self.budget // 2) // max(1, w_stride))
        if total <= self.budget and tk == k:
            self.out.append(mm)
            return
        wbytes_per_n = tk * _bits(mm.w) // 8
        tn = max(1, min(n, (self.budget // 2) // max(1, wbytes_per_n)))
        per_m = tk * _bits(mm.x) // 8 + tn * (32 if tk < k else _bits(mm.out)) // 8
        tm = max(1, min(m, (self.budget // 2) // per_m))
        if tm < m:
            tm = min(pow2_floor(tm), self.row_block)
        acc = mm.out
        if tk < k and mm.out.dtype.data != "f32":
            acc = npu.View("vocm", self.alloc(m * n * 4), (m, n), "f32")
        for n0, n1 in chunks(n, tn):
            for kt, (k0, k1) in enumerate(chunks(k, tk)):
                if mm.w_kn:
                    w = cols_of(rows_of(mm.w, k0, k1), n0, n1)
                else:
                    w = rows_of(mm.w, n0, n1)
                for m0, m1 in chunks(m, tm):
                    x = rows_of(mm.x, m0, m1)
                    if tk < k:
                        x = cols_of(x, k0, k1)
                    self.out.append(npu.MatmulOp(
                        x, w, cols_of(rows_of(acc, m0, m1), n0, n1),
                        w_kn=mm.w_kn is not None, accumulate=kt > 0))
            if acc is not mm.out:
                for m0, m1 in chunks(m, tm):
                    self.out.append(npu.EltwiseOp(
                        "cast", cols_of(rows_of(acc, m0, m1), n0, n1),
                        cols_of(rows_of(mm.out, m0, m1), n0, n1)))

    # -- DMA ---------------------------------------------------------------------------------

    def dma(self, op: npu.DmaLoadOp | npu.DmaStoreOp | npu.DmaCopyOp) -> None:
        rows, row_bytes, ss, ds = op.pattern()
        cls = type(op)
        total = rows * row_bytes
        # the on-chip side's extent (what axnpu-insert-ddr-swap makes resident), not only its
        # bytes: a copy of one row into each head of a per-head [heads, T, D] block (the new
        # token of the decode KV cache) touches every head and would make all heads one
        # temporary, larger than the OCM for big models
        strides = [s for s, r in ((ss, op.src), (ds, op.dst)) if r.space.data != "ddr"]
        span = (rows - 1) * max(strides, default=0) + row_bytes
        if total <= self.budget and span <= self.budget:
            self.out.append(op)
            return
        if rows == 1 or row_bytes > self.budget:
            piece = max(64, self.budget // 64 * 64)
            for r in range(rows):
                for a, b in chunks(row_bytes, piece):
                    self.out.append(cls(
                        npu.Region(op.src.space, op.src.offset.data + r * ss + a, b - a),
                        npu.Region(op.dst.space, op.dst.offset.data + r * ds + a, b - a)))
            return
        per = max(1, self.budget // row_bytes)
        if strides and max(strides) > 0:
            per = min(per, max(1, (self.budget - row_bytes) // max(strides) + 1))
            if max(strides) >= self.budget // 8:  # rows in separate blocks (KV heads)
                per = 1
        for a, b in chunks(rows, per):
            r = b - a
            self.out.append(cls(
                npu.Region(op.src.space, op.src.offset.data + a * ss, (r - 1) * ss + row_bytes),
                npu.Region(op.dst.space, op.dst.offset.data + a * ds, (r - 1) * ds + row_bytes),
                rows=r, row_bytes=row_bytes, src_stride_bytes=ss, dst_stride_bytes=ds))

    # -- TENG --------------------------------------------------------------------------------

    def teng(self, op: npu.InstructionOp, min_pieces: int = 1) -> None:
        outs = [v for _, v in op._views(op.OUTPUTS)]  # noqa: SLF001
        ins = [(n, v) for n, v in op._views(op.INPUTS)]  # noqa: SLF001
        total = sum(_vbytes(v) for v in outs) + sum(_vbytes(v) for _, v in ins)
        out = outs[0] if outs else None
        elements = out.numel if out is not None else 0
        want = 1
        if total > self.budget:
            want = -(-total // self.budget)
        if elements >= LARGE_TENG:
            want = max(want, self.cores)
        want = max(want, min_pieces)
        splittable = isinstance(op, npu.EltwiseOp | npu.RmsNormOp | npu.LayerNormOp
                                | npu.RopeOp | npu.SoftmaxOp)
        if want <= 1 or out is None or not splittable:
            self.out.append(op)
            return
        rows = out.rows
        if isinstance(op, npu.SoftmaxOp | npu.RopeOp | npu.RmsNormOp | npu.LayerNormOp):
            rows = op.x.rows
        plan = self._row_plan(op, rows)
        if plan is None or rows < 2:
            self.out.append(op)
            return
        per = min(pow2_floor(-(-rows // min(want, rows))), self.row_block)
        for r0, r1 in chunks(rows, per):
            props = dict(op.properties)
            for name, how in plan.items():
                v = op.properties[name]
                assert isinstance(v, npu.ViewAttr)
                if how == "rows":
                    props[name] = rows_of(v, r0, r1)
                elif how == "keep" and isinstance(op, npu.EltwiseOp | npu.SoftmaxOp):
                    # a broadcast row: drop its leading unit dims, the tiles are 2-D
                    props[name] = npu.View(v.space, v.offset, (1, v.get_shape()[-1]), v.dtype)
                elif how == "elems":
                    props[name] = npu.View(v.space, v.offset.data + r0 * _bits(v) // 8,
                                           (r1 - r0,), v.dtype)
            self.out.append(type(op).create(properties=props, attributes=dict(op.attributes)))

    def _row_plan(self, op: npu.InstructionOp, rows: int) -> dict[str, str] | None:
        """How each operand follows a row split ("rows", "elems", "keep"), or None."""
        plan: dict[str, str] = {}
        per_channel = {"weight", "bias", "inv_freq"}
        for name in (*op.INPUTS, *op.OUTPUTS):
            v = op.properties.get(name)
            if not isinstance(v, npu.ViewAttr):
                continue
            if isinstance(op, npu.RopeOp) and name == "positions":
                plan[name] = "elems"
            elif name in per_channel and not isinstance(op, npu.EltwiseOp):
                plan[name] = "keep"
            elif v.rows == rows:
                plan[name] = "rows"
            elif v.rows == 1 and isinstance(op, npu.EltwiseOp | npu.SoftmaxOp):
                plan[name] = "keep"
            else:
                return None
        return plan


@dataclass(frozen=True)
class AxnpuTilePass(ModulePass):
    """Split instructions into OCM-sized tiles (see the module docstring)."""

    name = "axnpu-tile"

    ocm_fraction: float = 1 / 3
    stream_attention: bool = True
    """Prefill attention one KV head at a time (`streamed_attention`); false keeps the
    whole-activation layout (for comparisons)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_state(op, self.name, "axnpu")
        for program in op.body.block.ops:
            if not isinstance(program, npu.ProgramOp):
                continue
            budget = int(program.ocm_bytes.value.data * self.ocm_fraction)
            units = program.cores.value.data * program.conv_per_core.value.data
            ddr_need = program.ddr_bytes.value.data
            total = sum(len(g.instructions()) for g in program.groups())
            with stage("tiling op", total) as bar:
                for group in program.groups():
                    tiler = GroupTiler(group, budget, units, program.cores.value.data,
                                       program.ocm_bytes.value.data, self.stream_attention)
                    group.body.block.add_ops(tiler.run(bar))
                    io_end = max((b.view.access().end for b in group.buffers()), default=0)
                    ddr_need = max(ddr_need, io_end + tiler.vocm_end)
            # room for axnpu-insert-ddr-swap to spill every temporary once
            program.ddr_bytes = npu._i64(align(ddr_need, 1 << 20))  # noqa: SLF001

