// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// The #pz.plan attribute applies the plan.yaml rules (lib/Plan/Plan.cpp
// validatePlan): one case per rule, then the string keys and the syntax.

// expected-error @+1 {{plan key 'dp_replicate': must be a positive integer, got 0}}
module attributes {pz.plan = #pz.plan<dp_replicate = 0>} {}

// -----

// expected-error @+1 {{plan key 'dp_shard': must be a positive integer, got -1}}
module attributes {pz.plan = #pz.plan<dp_shard = -1>} {}

// -----

// expected-error @+1 {{plan key 'tp': must be a positive integer, got 0}}
module attributes {pz.plan = #pz.plan<tp = 0>} {}

// -----

// expected-error @+1 {{plan key 'cp': must be a positive integer, got 0}}
module attributes {pz.plan = #pz.plan<cp = 0>} {}

// -----

// expected-error @+1 {{plan key 'pp': must be a positive integer, got -2}}
module attributes {pz.plan = #pz.plan<pp = -2>} {}

// -----

// expected-error @+1 {{plan key 'grad_accum': must be a positive integer, got 0}}
module attributes {pz.plan = #pz.plan<grad_accum = 0>} {}

// -----

// expected-error @+1 {{plan key 'virtual_stages': must be a positive integer, got 0}}
module attributes {pz.plan = #pz.plan<virtual_stages = 0>} {}

// -----

// Every broken rule is reported, joined by "; ".
// expected-error @+1 {{plan key 'tp': must be a positive integer, got 0; plan key 'cp': must be a positive integer, got 0}}
module attributes {pz.plan = #pz.plan<tp = 0, cp = 0>} {}

// -----

// expected-error @+1 {{plan key 'zero': ZeRO stage must be 0, 1, 2 or 3, got 4}}
module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 4>} {}

// -----

// expected-error @+1 {{plan key 'zero': ZeRO stage must be 0, 1, 2 or 3, got -1}}
module attributes {pz.plan = #pz.plan<zero = -1>} {}

// -----

// expected-error @+1 {{plan key 'zero': ZeRO stage 2 shards state over the dp_shard axis, which is 1; set dp_shard > 1}}
module attributes {pz.plan = #pz.plan<dp_replicate = 4, zero = 2>} {}

// -----

// expected-error @+1 {{plan key 'dp_shard': dp_shard = 2 shards state over data-parallel ranks and needs zero 1, 2 or 3; use dp_replicate for replicated data parallelism}}
module attributes {pz.plan = #pz.plan<dp_shard = 2>} {}

// -----

// expected-error @+1 {{plan key 'sp': sequence parallelism splits activations over the tp axis and needs tp > 1}}
module attributes {pz.plan = #pz.plan<sp = true>} {}

// -----

// expected-error @+1 {{plan key 'schedule': schedule 'zb' needs pp > 1}}
module attributes {pz.plan = #pz.plan<schedule = "zb">} {}

// -----

// expected-error @+1 {{plan key 'schedule': schedule 'interleaved' needs pp > 1}}
module attributes {pz.plan = #pz.plan<schedule = "interleaved", virtual_stages = 2>} {}

// -----

// expected-error @+1 {{plan key 'virtual_stages': schedule 'interleaved' needs virtual_stages >= 2}}
module attributes {pz.plan = #pz.plan<pp = 2, schedule = "interleaved", grad_accum = 4>} {}

// -----

// expected-error @+1 {{plan key 'virtual_stages': virtual_stages = 2 needs schedule 'interleaved', got '1f1b'}}
module attributes {pz.plan = #pz.plan<pp = 2, virtual_stages = 2>} {}

// -----

// expected-error @+1 {{plan key 'virtual_stages': virtual_stages = 3 needs schedule 'interleaved', got 'zb'}}
module attributes {pz.plan = #pz.plan<pp = 2, schedule = "zb", virtual_stages = 3>} {}

// -----

// expected-error @+1 {{plan key 'grad_accum': interleaved 1F1B runs micro-batches in groups of pp; grad_accum (6) must be a multiple of pp (4)}}
module attributes {pz.plan = #pz.plan<pp = 4, schedule = "interleaved", virtual_stages = 2, grad_accum = 6>} {}

// -----

// expected-error @+1 {{plan key 'schedule': expected one of gpipe, 1f1b, interleaved, zb, got 'foo'}}
module attributes {pz.plan = #pz.plan<schedule = "foo">} {}

// -----

// expected-error @+1 {{plan key 'schedule': expected one of gpipe, 1f1b, interleaved, zb, got 'GPipe'}}
module attributes {pz.plan = #pz.plan<pp = 2, schedule = "GPipe">} {}

// -----

// In the attribute a string is a mode; layers are an array.
// expected-error @+1 {{plan key 'recompute': expected one of none, selective, full, or an array of layer names, got 'some'}}
module attributes {pz.plan = #pz.plan<recompute = "some">} {}

// -----

// expected-error @+1 {{plan key 'precision': expected one of fp32, bf16, fp16, got 'fp8'}}
module attributes {pz.plan = #pz.plan<precision = "fp8">} {}

// -----

// The plan is checked wherever it appears, not only on a module.
func.func @plan_in_other_attribute() attributes {note = #pz.plan<tp = 0>} {
  // expected-error @-1 {{plan key 'tp': must be a positive integer, got 0}}
  return
}

// -----

// expected-error @+1 {{duplicate or unknown struct parameter name: microbatches}}
module attributes {pz.plan = #pz.plan<microbatches = 2>} {}

// -----

// expected-error @+1 {{duplicate or unknown struct parameter name: tp}}
module attributes {pz.plan = #pz.plan<tp = 2, tp = 4>} {}

// -----

// expected-error @+2 {{expected integer value}}
// expected-error @+1 {{failed to parse PZ_PlanAttr parameter 'tp' which is to be a `int64_t`}}
module attributes {pz.plan = #pz.plan<tp = "two">} {}

// -----

// expected-error @+2 {{expected string}}
// expected-error @+1 {{failed to parse PZ_PlanAttr parameter 'schedule' which is to be a `::llvm::StringRef`}}
module attributes {pz.plan = #pz.plan<pp = 2, schedule = gpipe>} {}

// -----

// Values are not trimmed: a plan must read back exactly as written.
// expected-error @+1 {{plan key 'schedule': expected one of gpipe, 1f1b, interleaved, zb, got ' gpipe'}}
module attributes {pz.plan = #pz.plan<pp = 2, schedule = " gpipe">} {}

// -----

// expected-error @+1 {{plan key 'precision': expected one of fp32, bf16, fp16, got 'bf16 '}}
module attributes {pz.plan = #pz.plan<precision = "bf16 ">} {}

// -----

// expected-error @+1 {{plan key 'recompute': expected one of none, selective, full, or an array of layer names, got ' full'}}
module attributes {pz.plan = #pz.plan<recompute = " full">} {}

// -----

// expected-error @+1 {{plan key 'stage_boundaries': names the layers that start pipeline stages and needs pp > 1, got pp = 1}}
module attributes {pz.plan = #pz.plan<stage_boundaries = ["fc2"]>} {}

// -----

// expected-error @+1 {{plan key 'stage_boundaries': names 2 layers; pp x virtual_stages = 2 x 1 stages need 1}}
module attributes {pz.plan = #pz.plan<pp = 2, stage_boundaries = ["h.1", "h.2"]>} {}

// -----

// expected-error @+1 {{plan key 'stage_boundaries': 'h.1' is named twice (items 1 and 2)}}
module attributes {pz.plan = #pz.plan<pp = 3, stage_boundaries = ["h.1", "h.1"]>} {}

// -----

// expected-error @+1 {{plan key 'stage_boundaries': item 1 is empty; each item names a layer}}
module attributes {pz.plan = #pz.plan<pp = 2, stage_boundaries = [""]>} {}

// -----

// expected-error @+1 {{plan key 'stage_boundaries': item 2 is not a string; each item names a layer}}
module attributes {pz.plan = #pz.plan<pp = 3, stage_boundaries = ["h.1", 2]>} {}

// -----

// expected-error @+2 {{expected attribute value}}
// expected-error @+1 {{failed to parse PZ_PlanAttr parameter 'stage_boundaries'}}
module attributes {pz.plan = #pz.plan<pp = 2, stage_boundaries = >} {}

// -----

// expected-error @+1 {{plan key 'recompute': 'h.1' is named twice (items 1 and 3)}}
module attributes {pz.plan = #pz.plan<recompute = ["h.1", "h.2", "h.1"]>} {}

// -----

// expected-error @+1 {{plan key 'recompute': item 2 is empty; each item names a layer}}
module attributes {pz.plan = #pz.plan<recompute = ["h.1", ""]>} {}

// -----

// expected-error @+1 {{plan key 'recompute': 'full' is a mode, not a layer name; give it alone}}
module attributes {pz.plan = #pz.plan<recompute = ["h.1", "full"]>} {}

// -----

// expected-error @+1 {{plan key 'recompute': item 1 is not a string; each item names a layer}}
module attributes {pz.plan = #pz.plan<recompute = [1]>} {}

// -----

// expected-error @+1 {{plan key 'recompute': expected a string (none, selective, full) or an array of layer names}}
module attributes {pz.plan = #pz.plan<recompute = 2>} {}
