# Pipeline stages in the training driver (train_pp_probe.cpp), 2 MPI ranks:
#  1. a GPipe and a 1F1B schedule of two stages train like one program with
#     the same micro-batches (losses, grad norms, lrs within 1e-5);
#  2. neither warns that the measured peak memory differs from the plan;
#  3. the trace shows the stage functions and the transfers (the 1F1B one
#     the fused send + receive);
#  4. a checkpoint of the stages holds every tensor: the stages resume from
#     it, and so does the single program, alike; the stages load the single
#     program's checkpoint too.
# Variables: MPIEXEC, NP_FLAG, PROBE, WORKDIR.
if(NOT MPIEXEC OR NOT EXISTS "${MPIEXEC}")
  message("skipped: no mpirun")
  return()
endif()
file(REMOVE_RECURSE "${WORKDIR}")
file(MAKE_DIRECTORY "${WORKDIR}")
set(MPI ${MPIEXEC} --allow-run-as-root --oversubscribe -x OPENBLAS_NUM_THREADS=1 ${NP_FLAG} 2)

function(run_step name expect_rc pattern)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${WORKDIR}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 100)
  message("--- ${name}: exit status ${rc}\n${out}${err}")
  if(NOT rc STREQUAL expect_rc)
    message(FATAL_ERROR "${name}: expected exit status ${expect_rc}, got '${rc}'")
  endif()
  if(NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "${name}: output does not match '${pattern}'")
  endif()
  if("${out}${err}" MATCHES "differs from the planned|the plan says")
    message(FATAL_ERROR "${name}: the driver's memory differs from the plan")
  endif()
endfunction()

run_step("reference" 0 "step 6/6 \\| loss"
         "${PROBE}" ref --steps 6 --metrics ref.jsonl --save rck)
run_step("gpipe" 0 "2 pipeline stages.*step 6/6 \\| loss"
         ${MPI} "${PROBE}" gpipe --steps 6 --log-every 3 --metrics gpipe.jsonl --metrics-all
         --save ck --trace gpipe.json)
run_step("compare gpipe" 0 "6 steps agree" "${PROBE}" compare gpipe.jsonl ref.jsonl)
run_step("1f1b" 0 "step 6/6 \\| loss"
         ${MPI} "${PROBE}" 1f1b --steps 6 --log-every 3 --metrics 1f1b.jsonl --trace 1f1b.json)
run_step("compare 1f1b" 0 "6 steps agree" "${PROBE}" compare 1f1b.jsonl ref.jsonl)
foreach(f gpipe.rank0.jsonl gpipe.rank1.jsonl gpipe.json gpipe.rank1.json 1f1b.rank1.json
          ck/index.json)
  if(NOT EXISTS "${WORKDIR}/${f}")
    message(FATAL_ERROR "${f} was not written")
  endif()
endforeach()
foreach(check "1f1b.json:\"sendrecv\"" "1f1b.json:\"forward\"" "1f1b.rank1.json:\"backward\""
              "1f1b.rank1.json:\"sendrecv\"" "gpipe.json:\"send\"" "gpipe.rank1.json:\"recv\"")
  string(REPLACE ":" ";" parts "${check}")
  list(GET parts 0 file)
  list(GET parts 1 what)
  file(READ "${WORKDIR}/${file}" trace)
  string(JSON events ERROR_VARIABLE jerr GET "${trace}" traceEvents)
  if(jerr)
    message(FATAL_ERROR "${file} is not valid JSON: ${jerr}")
  endif()
  string(FIND "${trace}" "\"name\":${what}" at)
  if(at LESS 0)
    string(FIND "${trace}" "\"name\": ${what}" at)
  endif()
  if(at LESS 0)
    message(FATAL_ERROR "${file} has no event named ${what}")
  endif()
endforeach()
file(READ "${WORKDIR}/ck/index.json" index)
foreach(t W0 W1 exp_avg:W0 exp_avg_sq:W1)
  string(JSON found ERROR_VARIABLE jerr GET "${index}" tensors ${t})
  if(jerr)
    message(FATAL_ERROR "the stages' checkpoint lacks '${t}': ${jerr}")
  endif()
endforeach()

run_step("stages resume" 0 "resumed from 'ck' at step 6.*step 8/8 \\| loss"
         ${MPI} "${PROBE}" gpipe --load ck --steps 2 --log-every 1 --metrics resume-pp.jsonl)
run_step("one program resumes from the stages" 0 "step 8/8 \\| loss"
         "${PROBE}" ref --load ck --steps 2 --metrics resume-ref.jsonl)
run_step("compare resumes" 0 "2 steps agree" "${PROBE}" compare resume-pp.jsonl resume-ref.jsonl)
run_step("stages resume from one program" 0 "step 8/8 \\| loss"
         ${MPI} "${PROBE}" 1f1b --load rck --steps 2 --metrics resume-1f1b.jsonl)
run_step("compare resumes from one program" 0 "2 steps agree"
         "${PROBE}" compare resume-1f1b.jsonl resume-ref.jsonl)
message("ok: pipeline stages (GPipe, 1F1B) match one program; memory plan; trace; checkpoints")
