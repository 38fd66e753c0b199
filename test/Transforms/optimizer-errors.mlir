// RUN: parallelize-opt %s -pz-optimizer="optimizer=adam" -verify-diagnostics
// RUN: not parallelize-opt %s -pz-optimizer="lr-schedule=cosine warmup-steps=10 total-steps=5" 2>&1 | FileCheck %s --check-prefix=COSINE
// RUN: not parallelize-opt %s -pz-optimizer="beta1=1.5" 2>&1 | FileCheck %s --check-prefix=BETA

// expected-error @+1 {{optimizer: --optimizer must be adamw or sgd, got 'adam'}}
module {
}
// COSINE: optimizer: --lr-schedule cosine needs --total-steps > --warmup-steps
// BETA: optimizer: --betas must lie in [0, 1)
