#!/usr/bin/python3
"""Writes the seed corpus of fuzz_onnx (fuzz/corpus/onnx/): small valid models of the operators
sepnet reads, and hostile ones: a truncated protobuf, tensor data shorter than its dims, negative
and huge dims, a cycle, an initializer nothing reads, external data, an int32 weight, an unknown
operator. Deterministic. Usage: /usr/bin/python3 fuzz/make_onnx_corpus.py [OUT_DIR]"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "onnx")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(3)


def weight(name, *shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def model(nodes, inits, in_shape, out_shape, opset=13):
    g = helper.make_graph(nodes, "seed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *out_shape])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="seed")


def save(name, m):
    data = m if isinstance(m, bytes) else m.SerializeToString()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


N = helper.make_node
conv_net = model([N("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1], group=1),
                  N("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"], name="bn", epsilon=1e-5),
                  N("Clip", ["n", "lo", "hi"], ["r"], name="relu6"),
                  N("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
                  N("Conv", ["p", "dw"], ["d"], name="depthwise", group=2, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                  N("Relu", ["d"], ["dr"]), N("AveragePool", ["dr"], ["a"], kernel_shape=[2, 2]),
                  N("GlobalAveragePool", ["a"], ["gp"]), N("Flatten", ["gp"], ["f"], axis=1),
                  N("Gemm", ["f", "fc", "fcb"], ["g"], transB=1), N("Softmax", ["g"], ["y"], axis=1)],
                 [weight("w", 2, 1, 3, 3), weight("b", 2), weight("s", 2), weight("bb", 2), weight("m", 2),
                  numpy_helper.from_array(np.ones(2, np.float32), "v"), numpy_helper.from_array(np.float32(0), "lo"),
                  numpy_helper.from_array(np.float32(6), "hi"), weight("dw", 2, 1, 3, 3), weight("fc", 3, 2),
                  weight("fcb", 3)], [1, 8, 8], [3])
save("valid_conv_net.onnx", conv_net)
shape_net = model([N("Shape", ["x"], ["s"]), N("Constant", [], ["i"], value=helper.make_tensor("i", TensorProto.INT64, [], [0])),
                   N("Gather", ["s", "i"], ["batch"], axis=0),
                   N("Constant", [], ["ax"], value=helper.make_tensor("ax", TensorProto.INT64, [1], [0])),
                   N("Unsqueeze", ["batch", "ax"], ["bu"]),
                   N("Constant", [], ["m1"], value=helper.make_tensor("m1", TensorProto.INT64, [1], [-1])),
                   N("Concat", ["bu", "m1"], ["shape"], axis=0), N("Reshape", ["x", "shape"], ["r"]),
                   N("MatMul", ["r", "w"], ["mm"]), N("Add", ["mm", "b"], ["a"]), N("Identity", ["a"], ["y"])],
                  [weight("w", 12, 4), weight("b", 4)], [3, 2, 2], [4])
save("valid_shape_arithmetic.onnx", shape_net)

bytes_ = conv_net.SerializeToString()
save("bad_truncated.onnx", bytes_[: len(bytes_) // 2])
short = model([N("Conv", ["x", "w"], ["y"])], [weight("w", 2, 1, 3, 3)], [1, 8, 8], [2, 6, 6])
short.graph.initializer[0].raw_data = short.graph.initializer[0].raw_data[:20]
save("bad_short_tensor_data.onnx", short)
negative = model([N("Conv", ["x", "w"], ["y"])], [weight("w", 2, 1, 3, 3)], [1, 8, 8], [2, 6, 6])
negative.graph.initializer[0].dims[0] = -2
save("bad_negative_dim.onnx", negative)
huge = model([N("Conv", ["x", "w"], ["y"])], [weight("w", 2, 1, 3, 3)], [1, 8, 8], [2, 6, 6])
huge.graph.initializer[0].dims[:] = [1 << 40, 1 << 30, 3, 3]
save("bad_huge_dims.onnx", huge)
huge_input = model([N("Relu", ["x"], ["y"])], [], [1 << 30, 1 << 30, 8], [1 << 30, 1 << 30, 8])
save("bad_huge_input.onnx", huge_input)
cycle = model([N("Relu", ["z"], ["r"]), N("Relu", ["r"], ["z"]), N("Identity", ["r"], ["y"])], [], [4], [4])
save("bad_cycle.onnx", cycle)
unused = model([N("Relu", ["x"], ["y"])], [weight("unused", 3, 3)], [4], [4])
save("unused_initializer.onnx", unused)
external = model([N("MatMul", ["x", "w"], ["y"])], [weight("w", 4, 4)], [4], [4])
t = external.graph.initializer[0]
t.ClearField("raw_data")
t.data_location = TensorProto.EXTERNAL
t.external_data.add(key="location", value="../../etc/passwd")
save("bad_external_data.onnx", external)
int32 = model([N("MatMul", ["x", "w"], ["y"])], [numpy_helper.from_array(np.ones((4, 4), np.int32), "w")], [4], [4])
save("bad_int32_weight.onnx", int32)
save("bad_unknown_op.onnx", model([N("LeakyRelu", ["x"], ["y"])], [], [4], [4]))
save("valid_auto_pad_same_upper.onnx", model([N("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER")], [weight("w", 2, 1, 3, 3)],
                                [1, 8, 8], [2, 8, 8]))
save("bad_opset_18.onnx", model([N("Relu", ["x"], ["y"])], [], [4], [4], opset=18))
print(f"wrote {len(os.listdir(out))} files to {out}")
