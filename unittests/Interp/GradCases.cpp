//===- GradCases.cpp - the finite-difference cases, one or more per VJP ---===//
//
// Each body computes %out from the arguments, whose SSA names are their
// names. Values are standard normal unless a case says otherwise
// (PPos: in [0.5, 2); In: given).
//
//===----------------------------------------------------------------------===//

#include "GradCheck.h"

using namespace pztest;

static std::vector<GradCase> elementwiseCases() {
  const std::string t23 = "tensor<2x3xf64>";
  auto unary = [&](std::string name, std::string op, bool positive = false) {
    return GradCase{name,
                    {positive ? PPos("x", t23) : P("x", t23)},
                    "  %out = pz." + op + " %x : " + t23,
                    t23};
  };
  return {
      {"add_rank_mismatch",
       {P("x", t23), P("y", "tensor<3xf64>")},
       "  %out = pz.add %x, %y : tensor<2x3xf64>, tensor<3xf64> -> "
       "tensor<2x3xf64>",
       t23},
      {"add_outer_broadcast",
       {P("x", "tensor<2x1x3xf64>"), P("y", "tensor<4x1xf64>")},
       "  %out = pz.add %x, %y : tensor<2x1x3xf64>, tensor<4x1xf64> -> "
       "tensor<2x4x3xf64>",
       "tensor<2x4x3xf64>"},
      {"add_scalar_param",
       {P("x", t23), P("s", "tensor<f64>")},
       "  %out = pz.add %x, %s : tensor<2x3xf64>, tensor<f64> -> "
       "tensor<2x3xf64>",
       t23},
      {"sub_lower_rank_lhs",
       {P("x", "tensor<3xf64>"), P("y", t23)},
       "  %out = pz.sub %x, %y : tensor<3xf64>, tensor<2x3xf64> -> "
       "tensor<2x3xf64>",
       t23},
      {"sub_outer_broadcast",
       {P("x", "tensor<2x1xf64>"), P("y", "tensor<1x3xf64>")},
       "  %out = pz.sub %x, %y : tensor<2x1xf64>, tensor<1x3xf64> -> "
       "tensor<2x3xf64>",
       t23},
      {"mul_outer_broadcast",
       {P("x", "tensor<2x1x3xf64>"), P("y", "tensor<4x1xf64>")},
       "  %out = pz.mul %x, %y : tensor<2x1x3xf64>, tensor<4x1xf64> -> "
       "tensor<2x4x3xf64>",
       "tensor<2x4x3xf64>"},
      {"mul_same_operand_twice",
       {P("x", t23)},
       "  %out = pz.mul %x, %x : tensor<2x3xf64>, tensor<2x3xf64> -> "
       "tensor<2x3xf64>",
       t23},
      {"div_broadcast_divisor",
       {P("x", t23), PPos("y", "tensor<2x1xf64>")},
       "  %out = pz.div %x, %y : tensor<2x3xf64>, tensor<2x1xf64> -> "
       "tensor<2x3xf64>",
       t23},
      {"div_lower_rank_lhs",
       {P("x", "tensor<3xf64>"), PPos("y", t23)},
       "  %out = pz.div %x, %y : tensor<3xf64>, tensor<2x3xf64> -> "
       "tensor<2x3xf64>",
       t23},
      {"pow_rank_mismatch_exponent",
       {PPos("x", t23), P("y", "tensor<3xf64>")},
       "  %out = pz.pow %x, %y : tensor<2x3xf64>, tensor<3xf64> -> "
       "tensor<2x3xf64>",
       t23},
      {"pow_rank_mismatch_base",
       {PPos("x", "tensor<3xf64>"), P("y", t23)},
       "  %out = pz.pow %x, %y : tensor<3xf64>, tensor<2x3xf64> -> "
       "tensor<2x3xf64>",
       t23},
      unary("neg", "neg"),
      unary("exp", "exp"),
      unary("log", "log", /*positive=*/true),
      unary("sqrt", "sqrt", /*positive=*/true),
      unary("rsqrt", "rsqrt", /*positive=*/true),
      unary("tanh", "tanh"),
      unary("erf", "erf"),
      unary("sin", "sin"),
      unary("cos", "cos"),
      unary("abs", "abs"),
      unary("sign", "sign"),
      unary("relu", "relu"),
      unary("sigmoid", "sigmoid"),
      unary("silu", "silu"),
      {"gelu_erf", {P("x", t23)}, "  %out = pz.gelu %x erf : " + t23, t23},
      {"gelu_tanh", {P("x", t23)}, "  %out = pz.gelu %x tanh : " + t23, t23},
      {"dropout_rate_half",
       {P("x", "tensor<4x5xf64>")},
       "  %out = pz.dropout %x {rate = 5.0e-01 : f64, seed = 7 : i64} : "
       "tensor<4x5xf64>",
       "tensor<4x5xf64>"},
      {"dropout_at_step_3",
       {P("x", "tensor<3x7xf64>")},
       "  %out = pz.dropout %x {rate = 3.0e-01 : f64, seed = 123 : i64} : "
       "tensor<3x7xf64>",
       "tensor<3x7xf64>",
       /*step=*/3},
      {"where_broadcast",
       {In("c", "tensor<2x1xi1>", {1, 0}), P("x", t23),
        P("y", "tensor<3xf64>")},
       "  %out = pz.where %c, %x, %y : tensor<2x1xi1>, tensor<2x3xf64>, "
       "tensor<3xf64> -> tensor<2x3xf64>",
       t23},
      {"where_condition_broadcasts_branches",
       {In("c", "tensor<2x3xi1>", {1, 0, 0, 1, 1, 0}), P("x", "tensor<3xf64>"),
        P("y", "tensor<f64>")},
       "  %out = pz.where %c, %x, %y : tensor<2x3xi1>, tensor<3xf64>, "
       "tensor<f64> -> tensor<2x3xf64>",
       t23},
      {"where_of_compare_and_not",
       {P("x", t23), P("y", t23)},
       "  %c = pz.compare gt, %x, %y : tensor<2x3xf64>, tensor<2x3xf64> -> "
       "tensor<2x3xi1>\n"
       "  %n = pz.not %c : tensor<2x3xi1>\n"
       "  %out = pz.where %n, %x, %y : tensor<2x3xi1>, tensor<2x3xf64>, "
       "tensor<2x3xf64> -> tensor<2x3xf64>",
       t23},
      {"cast_f64_to_f64",
       {P("x", t23)},
       "  %out = pz.cast %x : tensor<2x3xf64> to f64",
       t23},
      {"constant_operand",
       {P("x", t23)},
       "  %c = pz.constant dense<[[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]> : "
       "tensor<2x3xf64>\n"
       "  %out = pz.mul %x, %c : tensor<2x3xf64>, tensor<2x3xf64> -> "
       "tensor<2x3xf64>",
       t23},
      {"trilu_upper_diagonal_1",
       {P("x", "tensor<2x3x3xf64>")},
       "  %out = pz.trilu %x upper diagonal 1 : tensor<2x3x3xf64>",
       "tensor<2x3x3xf64>"},
      {"trilu_lower",
       {P("x", "tensor<3x4xf64>")},
       "  %out = pz.trilu %x diagonal -1 : tensor<3x4xf64>",
       "tensor<3x4xf64>"},
  };
}

static std::vector<GradCase> reductionCases() {
  const std::string t234 = "tensor<2x3x4xf64>";
  return {
      {"softmax_middle_axis",
       {P("x", t234)},
       "  %out = pz.softmax %x {axis = 1 : i64} : " + t234,
       t234},
      {"softmax_first_axis",
       {P("x", "tensor<3x2xf64>")},
       "  %out = pz.softmax %x {axis = 0 : i64} : tensor<3x2xf64>",
       "tensor<3x2xf64>"},
      {"softmax_with_neg_inf_entries",
       {P("x", "tensor<2x3xf64>")},
       "  %m = pz.constant dense<[[0.0, 0xFFF0000000000000, 0.0], [0.0, 0.0, "
       "0xFFF0000000000000]]> : tensor<2x3xf64>\n"
       "  %xm = pz.add %x, %m : tensor<2x3xf64>, tensor<2x3xf64> -> "
       "tensor<2x3xf64>\n"
       "  %out = pz.softmax %xm {axis = 1 : i64} : tensor<2x3xf64>",
       "tensor<2x3xf64>"},
      {"log_softmax_middle_axis",
       {P("x", t234)},
       "  %out = pz.log_softmax %x {axis = 1 : i64} : " + t234,
       t234},
      {"log_softmax_last_axis",
       {P("x", t234)},
       "  %out = pz.log_softmax %x {axis = 2 : i64} : " + t234,
       t234},
      {"cumsum_middle_axis",
       {P("x", t234)},
       "  %out = pz.cumsum %x {axis = 1 : i64} : " + t234,
       t234},
      {"cumsum_exclusive",
       {P("x", t234)},
       "  %out = pz.cumsum %x {axis = 2 : i64, exclusive} : " + t234,
       t234},
      {"cumsum_reverse",
       {P("x", t234)},
       "  %out = pz.cumsum %x {axis = 0 : i64, reverse} : " + t234,
       t234},
      {"cumsum_reverse_exclusive",
       {P("x", t234)},
       "  %out = pz.cumsum %x {axis = 2 : i64, exclusive, reverse} : " + t234,
       t234},
      {"reduce_sum_keepdims",
       {P("x", t234)},
       "  %out = pz.reduce_sum %x [0, 2] {keepdims} : tensor<2x3x4xf64> -> "
       "tensor<1x3x1xf64>",
       "tensor<1x3x1xf64>"},
      {"reduce_sum_dropped_dims",
       {P("x", t234)},
       "  %out = pz.reduce_sum %x [1] : tensor<2x3x4xf64> -> tensor<2x4xf64>",
       "tensor<2x4xf64>"},
      {"reduce_sum_to_scalar",
       {P("x", t234)},
       "  %out = pz.reduce_sum %x [0, 1, 2] : tensor<2x3x4xf64> -> tensor<f64>",
       "tensor<f64>"},
      {"reduce_mean_keepdims",
       {P("x", t234)},
       "  %out = pz.reduce_mean %x [1, 2] {keepdims} : tensor<2x3x4xf64> -> "
       "tensor<2x1x1xf64>",
       "tensor<2x1x1xf64>"},
      {"reduce_mean_dropped_dims",
       {P("x", t234)},
       "  %out = pz.reduce_mean %x [0] : tensor<2x3x4xf64> -> tensor<3x4xf64>",
       "tensor<3x4xf64>"},
      {"reduce_max_keepdims",
       {P("x", t234)},
       "  %out = pz.reduce_max %x [2] {keepdims} : tensor<2x3x4xf64> -> "
       "tensor<2x3x1xf64>",
       "tensor<2x3x1xf64>"},
      {"reduce_max_dropped_dims",
       {P("x", t234)},
       "  %out = pz.reduce_max %x [0, 1] : tensor<2x3x4xf64> -> tensor<4xf64>",
       "tensor<4xf64>"},
      {"layer_norm_scale_bias",
       {P("x", t234), P("w", "tensor<3x4xf64>"), P("b", "tensor<3x4xf64>")},
       "  %out = pz.layer_norm %x scale(%w : tensor<3x4xf64>) bias(%b : "
       "tensor<3x4xf64>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : "
       "tensor<2x3x4xf64> -> tensor<2x3x4xf64>",
       t234},
      {"layer_norm_plain",
       {P("x", t234)},
       "  %out = pz.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-05 : f64} : "
       "tensor<2x3x4xf64> -> tensor<2x3x4xf64>",
       t234},
      {"layer_norm_scale_only",
       {P("x", t234), P("w", "tensor<4xf64>")},
       "  %out = pz.layer_norm %x scale(%w : tensor<4xf64>) {axis = 2 : i64, "
       "epsilon = 1.0e-05 : f64} : tensor<2x3x4xf64> -> tensor<2x3x4xf64>",
       t234},
      {"layer_norm_bias_only",
       {P("x", t234), P("b", "tensor<4xf64>")},
       "  %out = pz.layer_norm %x bias(%b : tensor<4xf64>) {axis = 2 : i64, "
       "epsilon = 1.0e-05 : f64} : tensor<2x3x4xf64> -> tensor<2x3x4xf64>",
       t234},
      {"rms_norm_scale",
       {P("x", t234), P("w", "tensor<4xf64>")},
       "  %out = pz.rms_norm %x scale(%w : tensor<4xf64>) {axis = 2 : i64, "
       "epsilon = 1.0e-06 : f64} : tensor<2x3x4xf64> -> tensor<2x3x4xf64>",
       t234},
      {"rms_norm_plain",
       {P("x", t234)},
       "  %out = pz.rms_norm %x {axis = 1 : i64, epsilon = 1.0e-06 : f64} : "
       "tensor<2x3x4xf64> -> tensor<2x3x4xf64>",
       t234},
  };
}

static std::vector<GradCase> matmulAndShapeCases() {
  return {
      // Tile as the importer lowers it: reshape, broadcast, reshape.
      {"tile_reshape_broadcast_reshape",
       {P("x", "tensor<2x3xf64>")},
       "  %s = pz.reshape %x [1, 2, 1, 3] : tensor<2x3xf64> -> "
       "tensor<1x2x1x3xf64>\n"
       "  %b = pz.broadcast %s [2, 2, 3, 3] : tensor<1x2x1x3xf64> -> "
       "tensor<2x2x3x3xf64>\n"
       "  %out = pz.reshape %b [4, 9] : tensor<2x2x3x3xf64> -> "
       "tensor<4x9xf64>",
       "tensor<4x9xf64>"},
      {"matmul_nn",
       {P("a", "tensor<3x4xf64>"), P("b", "tensor<4x5xf64>")},
       "  %out = pz.matmul %a, %b : tensor<3x4xf64>, tensor<4x5xf64> -> "
       "tensor<3x5xf64>",
       "tensor<3x5xf64>"},
      {"matmul_tn",
       {P("a", "tensor<4x3xf64>"), P("b", "tensor<4x5xf64>")},
       "  %out = pz.matmul %a, %b {transpose_lhs} : tensor<4x3xf64>, "
       "tensor<4x5xf64> -> tensor<3x5xf64>",
       "tensor<3x5xf64>"},
      {"matmul_nt",
       {P("a", "tensor<3x4xf64>"), P("b", "tensor<5x4xf64>")},
       "  %out = pz.matmul %a, %b {transpose_rhs} : tensor<3x4xf64>, "
       "tensor<5x4xf64> -> tensor<3x5xf64>",
       "tensor<3x5xf64>"},
      {"matmul_tt",
       {P("a", "tensor<4x3xf64>"), P("b", "tensor<5x4xf64>")},
       "  %out = pz.matmul %a, %b {transpose_lhs, transpose_rhs} : "
       "tensor<4x3xf64>, tensor<5x4xf64> -> tensor<3x5xf64>",
       "tensor<3x5xf64>"},
      {"matmul_batch_broadcast",
       {P("a", "tensor<2x1x3x4xf64>"), P("b", "tensor<3x4x5xf64>")},
       "  %out = pz.matmul %a, %b : tensor<2x1x3x4xf64>, tensor<3x4x5xf64> -> "
       "tensor<2x3x3x5xf64>",
       "tensor<2x3x3x5xf64>"},
      {"matmul_mutual_batch_broadcast",
       {P("a", "tensor<2x1x3x4xf64>"), P("b", "tensor<1x3x4x5xf64>")},
       "  %out = pz.matmul %a, %b : tensor<2x1x3x4xf64>, tensor<1x3x4x5xf64> "
       "-> tensor<2x3x3x5xf64>",
       "tensor<2x3x3x5xf64>"},
      {"matmul_batch_broadcast_transposed",
       {P("a", "tensor<2x4x3xf64>"), P("b", "tensor<1x5x4xf64>")},
       "  %out = pz.matmul %a, %b {transpose_lhs, transpose_rhs} : "
       "tensor<2x4x3xf64>, tensor<1x5x4xf64> -> tensor<2x3x5xf64>",
       "tensor<2x3x5xf64>"},
      {"matmul_rank2_times_batched",
       {P("a", "tensor<3x4xf64>"), P("b", "tensor<2x4x5xf64>")},
       "  %out = pz.matmul %a, %b : tensor<3x4xf64>, tensor<2x4x5xf64> -> "
       "tensor<2x3x5xf64>",
       "tensor<2x3x5xf64>"},
      {"reshape_inferred_dim",
       {P("x", "tensor<2x3x4xf64>")},
       "  %out = pz.reshape %x [4, -1] : tensor<2x3x4xf64> -> tensor<4x6xf64>",
       "tensor<4x6xf64>"},
      {"transpose_rank3",
       {P("x", "tensor<2x3x4xf64>")},
       "  %out = pz.transpose %x [2, 0, 1] : tensor<2x3x4xf64> -> "
       "tensor<4x2x3xf64>",
       "tensor<4x2x3xf64>"},
      {"broadcast_leading_and_unit_dims",
       {P("x", "tensor<3x1xf64>")},
       "  %out = pz.broadcast %x [2, 3, 4] : tensor<3x1xf64> -> "
       "tensor<2x3x4xf64>",
       "tensor<2x3x4xf64>"},
      {"slice_steps",
       {P("x", "tensor<5x6xf64>")},
       "  %out = pz.slice %x starts [1, 0] ends [5, 6] steps [2, 3] : "
       "tensor<5x6xf64> -> tensor<2x2xf64>",
       "tensor<2x2xf64>"},
      {"slice_rank3_steps",
       {P("x", "tensor<3x4x5xf64>")},
       "  %out = pz.slice %x starts [0, 1, 1] ends [3, 4, 5] steps [2, 1, 2] : "
       "tensor<3x4x5xf64> -> tensor<2x3x2xf64>",
       "tensor<2x3x2xf64>"},
      {"slice_negative_steps",
       {P("x", "tensor<5x6xf64>")},
       "  %out = pz.slice %x starts [4, 5] ends [-1, 0] steps [-2, -2] : "
       "tensor<5x6xf64> -> tensor<3x3xf64>",
       "tensor<3x3xf64>"},
      {"slice_rank3_mixed_signs",
       {P("x", "tensor<3x4x5xf64>")},
       "  %out = pz.slice %x starts [2, 1, 3] ends [-1, 4, 0] steps [-1, 2, "
       "-3] : tensor<3x4x5xf64> -> tensor<3x2x1xf64>",
       "tensor<3x2x1xf64>"},
      {"concat_three_inputs",
       {P("a", "tensor<2x3xf64>"), P("b", "tensor<2x1xf64>"),
        P("c", "tensor<2x2xf64>")},
       "  %out = pz.concat %a, %b, %c {axis = 1 : i64} : (tensor<2x3xf64>, "
       "tensor<2x1xf64>, tensor<2x2xf64>) -> tensor<2x6xf64>",
       "tensor<2x6xf64>"},
      {"concat_same_input_twice",
       {P("a", "tensor<2x3xf64>")},
       "  %out = pz.concat %a, %a {axis = 0 : i64} : (tensor<2x3xf64>, "
       "tensor<2x3xf64>) -> tensor<4x3xf64>",
       "tensor<4x3xf64>"},
      {"gather_repeated_indices",
       {P("x", "tensor<4x3xf64>"), In("i", "tensor<3xi64>", {1, 3, 1})},
       "  %out = pz.gather %x, %i {axis = 0 : i64} : tensor<4x3xf64>, "
       "tensor<3xi64> -> tensor<3x3xf64>",
       "tensor<3x3xf64>"},
      {"gather_middle_axis_2d_indices",
       {P("x", "tensor<2x3x4xf64>"), In("i", "tensor<2x2xi32>", {0, 2, 2, 2})},
       "  %out = pz.gather %x, %i {axis = 1 : i64} : tensor<2x3x4xf64>, "
       "tensor<2x2xi32> -> tensor<2x2x2x4xf64>",
       "tensor<2x2x2x4xf64>"},
      {"gather_elements_repeated_and_negative_indices",
       {P("x", "tensor<3x4xf64>"),
        In("i", "tensor<3x2xi64>", {1, -3, 3, 3, 0, -1})},
       "  %out = pz.gather_elements %x, %i {axis = 1 : i64} : "
       "tensor<3x4xf64>, tensor<3x2xi64> -> tensor<3x2xf64>",
       "tensor<3x2xf64>"},
      {"gather_elements_axis0_smaller_indices",
       {P("x", "tensor<3x4xf64>"), In("i", "tensor<2x3xi32>", {2, 0, 1, 1, 1, 2})},
       "  %out = pz.gather_elements %x, %i {axis = 0 : i64} : "
       "tensor<3x4xf64>, tensor<2x3xi32> -> tensor<2x3xf64>",
       "tensor<2x3xf64>"},
      // Distinct targets: the overwritten elements get no gradient.
      {"scatter_elements_overwrite",
       {P("x", "tensor<3x4xf64>"), In("i", "tensor<3x2xi64>", {1, 3, 0, -1, 2, 0}),
        P("u", "tensor<3x2xf64>")},
       "  %out = pz.scatter_elements %x, %i, %u {axis = 1 : i64} : "
       "tensor<3x4xf64>, tensor<3x2xi64>, tensor<3x2xf64> -> tensor<3x4xf64>",
       "tensor<3x4xf64>"},
      {"scatter_elements_add_repeated",
       {P("x", "tensor<3x4xf64>"), In("i", "tensor<2x4xi64>", {2, 2, 0, 1, 2, 0, 0, 1}),
        P("u", "tensor<2x4xf64>")},
       "  %out = pz.scatter_elements %x, %i, %u {axis = 0 : i64, accumulate} : "
       "tensor<3x4xf64>, tensor<2x4xi64>, tensor<2x4xf64> -> tensor<3x4xf64>",
       "tensor<3x4xf64>"},
      // Random normals never tie: each element's cotangent goes to one side.
      {"max_broadcast",
       {P("a", "tensor<2x3xf64>"), P("b", "tensor<3xf64>")},
       "  %out = pz.max %a, %b : tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xf64>",
       "tensor<2x3xf64>"},
      {"min_broadcast",
       {P("a", "tensor<4x1xf64>"), P("b", "tensor<1x3xf64>")},
       "  %out = pz.min %a, %b : tensor<4x1xf64>, tensor<1x3xf64> -> tensor<4x3xf64>",
       "tensor<4x3xf64>"},
      {"embedding_repeated_ids",
       {P("t", "tensor<5x3xf64>"),
        In("ids", "tensor<2x3xi64>", {1, 4, 1, 0, 1, 4})},
       "  %out = pz.embedding %t, %ids : tensor<5x3xf64>, tensor<2x3xi64> -> "
       "tensor<2x3x3xf64>",
       "tensor<2x3x3xf64>"},
  };
}

static std::vector<GradCase> nnCases() {
  auto ce = [](std::string name, std::string reduction, std::string outType) {
    return GradCase{
        name,
        {P("l", "tensor<4x5xf64>"), In("y", "tensor<4xi64>", {1, -100, 4, 0})},
        "  %out = pz.cross_entropy %l, %y " + reduction +
            " : tensor<4x5xf64>, tensor<4xi64> -> " + outType,
        outType};
  };
  return {
      ce("cross_entropy_mean_ignored_label", "mean", "tensor<f64>"),
      ce("cross_entropy_sum_ignored_label", "sum", "tensor<f64>"),
      ce("cross_entropy_none_ignored_label", "none", "tensor<4xf64>"),
      {"cross_entropy_rank3_custom_ignore_index",
       {P("l", "tensor<2x3x5xf64>"),
        In("y", "tensor<2x3xi64>", {2, 0, 4, 3, 2, 1})},
       "  %out = pz.cross_entropy %l, %y mean {ignore_index = 2 : i64} : "
       "tensor<2x3x5xf64>, tensor<2x3xi64> -> tensor<f64>",
       "tensor<f64>"},
      {"attention_causal",
       {P("q", "tensor<1x2x3x4xf64>"), P("k", "tensor<1x2x3x4xf64>"),
        P("v", "tensor<1x2x3x4xf64>")},
       "  %out = pz.attention %q, %k, %v {causal} : tensor<1x2x3x4xf64>, "
       "tensor<1x2x3x4xf64>, tensor<1x2x3x4xf64> -> tensor<1x2x3x4xf64>",
       "tensor<1x2x3x4xf64>"},
      {"attention_float_mask_and_scale",
       {P("q", "tensor<2x2x3x4xf64>"), P("k", "tensor<2x2x4x4xf64>"),
        P("v", "tensor<2x2x4x3xf64>"),
        In("m", "tensor<3x4xf64>",
           {0, -1, 0.5, -2, 0.25, 0, -0.5, 1, -1, 0.75, 0, -0.25})},
       "  %out = pz.attention %q, %k, %v mask(%m : tensor<3x4xf64>) {scale = "
       "4.0e-01 : f64} : tensor<2x2x3x4xf64>, tensor<2x2x4x4xf64>, "
       "tensor<2x2x4x3xf64> -> tensor<2x2x3x3xf64>",
       "tensor<2x2x3x3xf64>"},
      {"attention_gqa",
       {P("q", "tensor<1x4x2x3xf64>"), P("k", "tensor<1x2x3x3xf64>"),
        P("v", "tensor<1x2x3x5xf64>")},
       "  %out = pz.attention %q, %k, %v : tensor<1x4x2x3xf64>, "
       "tensor<1x2x3x3xf64>, tensor<1x2x3x5xf64> -> tensor<1x4x2x5xf64>",
       "tensor<1x4x2x5xf64>"},
      {"attention_gqa_causal_bool_mask",
       {P("q", "tensor<1x4x3x2xf64>"), P("k", "tensor<1x2x3x2xf64>"),
        P("v", "tensor<1x2x3x2xf64>"),
        In("m", "tensor<1x1x3x3xi1>", {1, 1, 1, 0, 1, 1, 1, 0, 1})},
       "  %out = pz.attention %q, %k, %v mask(%m : tensor<1x1x3x3xi1>) "
       "{causal} : tensor<1x4x3x2xf64>, tensor<1x2x3x2xf64>, "
       "tensor<1x2x3x2xf64> -> tensor<1x4x3x2xf64>",
       "tensor<1x4x3x2xf64>"},
      // An ALiBi-like bias [1, H, 1, Sk] (a data input: no gradient) next
      // to causal and a bool mask.
      {"attention_bias_causal_bool_mask",
       {P("q", "tensor<2x2x3x2xf64>"), P("k", "tensor<2x2x3x2xf64>"),
        P("v", "tensor<2x2x3x2xf64>"),
        In("b", "tensor<1x2x1x3xf64>", {0, -0.5, -1, 0, -0.25, -0.5}),
        In("m", "tensor<2x1x1x3xi1>", {1, 1, 1, 1, 0, 1})},
       "  %out = pz.attention %q, %k, %v mask(%m : tensor<2x1x1x3xi1>) "
       "bias(%b : tensor<1x2x1x3xf64>) {causal} : tensor<2x2x3x2xf64>, "
       "tensor<2x2x3x2xf64>, tensor<2x2x3x2xf64> -> tensor<2x2x3x2xf64>",
       "tensor<2x2x3x2xf64>"},
      // A bias that is a parameter: its gradient (pz.attention_bias_grad)
      // sums dS over the batch and query dims it broadcasts along.
      {"attention_param_bias_gqa",
       {P("q", "tensor<2x4x3x2xf64>"), P("k", "tensor<2x2x3x2xf64>"),
        P("v", "tensor<2x2x3x2xf64>"), P("b", "tensor<1x4x1x3xf64>"),
        In("m", "tensor<3x3xi1>", {1, 0, 1, 1, 1, 1, 1, 1, 0})},
       "  %out = pz.attention %q, %k, %v mask(%m : tensor<3x3xi1>) "
       "bias(%b : tensor<1x4x1x3xf64>) {causal, scale = 6.0e-01 : f64} : "
       "tensor<2x4x3x2xf64>, tensor<2x2x3x2xf64>, tensor<2x2x3x2xf64> -> "
       "tensor<2x4x3x2xf64>",
       "tensor<2x4x3x2xf64>"},
  };
}

const std::vector<GradCase> &pztest::gradCases() {
  static const std::vector<GradCase> cases = [] {
    std::vector<GradCase> all;
    for (auto group : {elementwiseCases(), reductionCases(),
                       matmulAndShapeCases(), nnCases()})
      all.insert(all.end(), group.begin(), group.end());
    return all;
  }();
  return cases;
}
