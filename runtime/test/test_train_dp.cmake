# The training driver on 2 MPI ranks (train_dp_probe.cpp):
#  1. data-parallel training matches one rank with twice the micro-batches;
#  2. a 2-rank checkpoint resumes on 2 ranks;
#  3. a step-function failure on one rank ends the whole job (no hang) with a
#     message naming the rank, step and operation;
#  4. a setup failure on one rank stops every rank cleanly;
#  5. a world size that differs from the plan's is a usage error (exit 2);
#  6. a NaN gradient on one rank stops every rank with exit 3 (no hang), the
#     rank that has it naming the parameter;
#  7. --save onto a folder that is not a checkpoint stops both ranks at
#     startup (exit 2) and leaves the folder alone.
# Variables: MPIEXEC, NP_FLAG, PROBE, WORKDIR.
file(REMOVE_RECURSE "${WORKDIR}")
file(MAKE_DIRECTORY "${WORKDIR}")
set(MPI ${MPIEXEC} --allow-run-as-root --oversubscribe -x OPENBLAS_NUM_THREADS=1 ${NP_FLAG} 2)

function(run_step name expect_rc pattern)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${WORKDIR}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 100)
  message("--- ${name}: exit status ${rc}\n${out}${err}")
  if(expect_rc STREQUAL "nonzero")
    if(rc EQUAL 0 OR NOT rc MATCHES "^[0-9]+$")
      message(FATAL_ERROR "${name}: expected a non-zero exit status, got '${rc}'")
    endif()
  elseif(NOT rc STREQUAL expect_rc)
    message(FATAL_ERROR "${name}: expected exit status ${expect_rc}, got '${rc}'")
  endif()
  if(NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "${name}: output does not match '${pattern}'")
  endif()
endfunction()

run_step("dp training" 0 "step 6/6 \\| loss"
         ${MPI} "${PROBE}" dp --steps 6 --log-every 3 --metrics dp.jsonl --metrics-all
         --save ck --trace trace.json)
run_step("reference" 0 "step 6/6 \\| loss" "${PROBE}" ref --steps 6 --metrics ref.jsonl)
run_step("compare" 0 "6 steps agree" "${PROBE}" compare dp.jsonl ref.jsonl)
foreach(f dp.rank0.jsonl dp.rank1.jsonl trace.json trace.rank1.json ck/index.json)
  if(NOT EXISTS "${WORKDIR}/${f}")
    message(FATAL_ERROR "${f} was not written")
  endif()
endforeach()
file(READ "${WORKDIR}/trace.rank1.json" trace)
string(JSON events ERROR_VARIABLE jerr GET "${trace}" traceEvents)
if(jerr)
  message(FATAL_ERROR "trace.rank1.json is not valid JSON: ${jerr}")
endif()

run_step("resume" 0 "resumed from 'ck' at step 6.*step 8/8 \\| loss"
         ${MPI} "${PROBE}" dp --load ck --steps 2 --log-every 1)

run_step("failure on rank 1" nonzero
         "rank 1 \\(of 2\\), step 3: forward_backward \\(micro-batch 1 of 2\\): probe: injected failure"
         ${MPI} -x PZRT_PROBE_FAIL_RANK=1 "${PROBE}" dp --steps 6 --comm-timeout 60)

file(MAKE_DIRECTORY "${WORKDIR}/bad.rank1.json") # rank 1 cannot create its trace
run_step("setup failure on rank 1" 2 "rank 1 \\(of 2\\): --trace.*another rank failed during setup|another rank failed during setup.*rank 1 \\(of 2\\): --trace"
         ${MPI} "${PROBE}" dp --steps 2 --trace bad.json)

run_step("world size mismatch" 2 "compiled for 1 rank, but 2 were started"
         ${MPI} "${PROBE}" ref --steps 1)
run_step("nan gradient on rank 1" 3
         "rank 1 \\(of 2\\), step 3: the gradient of parameter 'emb'.*holds a NaN or infinity"
         ${MPI} -x PZRT_PROBE_NAN_RANK=1 "${PROBE}" dp --steps 6 --comm-timeout 60 --metrics nan.jsonl)
run_step("nan gradient, rank 0's view" 3
         "rank 0 \\(of 2\\), step 3: rank 1 found a non-finite gradient at step 3"
         ${MPI} -x PZRT_PROBE_NAN_RANK=1 "${PROBE}" dp --steps 6 --comm-timeout 60)
file(STRINGS "${WORKDIR}/nan.jsonl" nan_lines)
list(LENGTH nan_lines n)
if(NOT n EQUAL 2)
  message(FATAL_ERROR "nan.jsonl has ${n} lines; steps 1 and 2 only were expected")
endif()

file(MAKE_DIRECTORY "${WORKDIR}/thesis")
file(WRITE "${WORKDIR}/thesis/chapter1.tex" "keep me")
run_step("save onto a folder" 2 "--save: '.*thesis' is a directory that is not a checkpoint"
         ${MPI} "${PROBE}" dp --steps 2 --save thesis)
file(READ "${WORKDIR}/thesis/chapter1.tex" kept)
file(GLOB thesis_files "${WORKDIR}/thesis/*")
list(LENGTH thesis_files n)
if(NOT kept STREQUAL "keep me" OR NOT n EQUAL 1)
  message(FATAL_ERROR "the folder given to --save was changed")
endif()
message("ok: data-parallel training, resume, failures, world-size, numerics and --save checks")
