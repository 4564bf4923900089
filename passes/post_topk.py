"""post-topk{k=N}: the post function returns the top-k token ids and their probabilities.

pulsar2's `--post_topk`: instead of copying the whole logits row ([1, 1, vocab], 300 KB in
bf16 for Qwen) back to the host every token, the post model ends in

    %p = axh.softmax %logits {axis = -1}     (over the full vocabulary, as the sampler would)
    %v, %i = axh.topk %p {k = N}
    func.return %i, %v                        (indices i32 [1, 1, k], probabilities [1, 1, k])

The runtime samples among those k candidates (its top-k/top-p settings must not exceed k).
The softmax computes in f32 and its result is rounded to the logits' element type like any
vector op. Runs before or after `quantize` (the post module is quantized with its own
`post-weight-type`); every function whose single result is a float tensor is rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp, TensorType
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from axc.diagnostics import OpError
from axc.dialects import axh


@dataclass(frozen=True)
class PostTopKPass(ModulePass):
    """Make the post function return (top-k indices, top-k probabilities)."""

    name = "post-topk"

    k: int = 1

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            ret = fn.body.block.last_op
            if not isinstance(ret, func.ReturnOp) or len(ret.arguments) != 1:
                continue
            logits = ret.arguments[0]
            if not isinstance(logits.type, TensorType):
                continue
            vocab = logits.type.get_shape()[-1]
            if not 1 <= self.k <= vocab:
                raise OpError(fn, f"post-topk: k={self.k} must be in 1..{vocab} (the vocabulary)")
            probs = axh.SoftmaxOp(logits, axis=-1)
            top = axh.TopKOp(probs, self.k)
            Rewriter().insert_op([probs, top], InsertPoint.before(ret))
            ret.operands = [top.indices, top.values]
            fn.function_type = FunctionType.from_lists(
                list(fn.function_type.inputs.data), [top.indices.type, top.values.type])
