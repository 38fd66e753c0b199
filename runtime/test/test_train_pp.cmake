# Pipeline stages in the training driver (train_pp_probe.cpp), 2 MPI ranks:
#  1. a GPipe and a 1F1B schedule of two stages train like one program with
#     the same micro-batches (losses, grad norms, lrs within 1e-5);
#  2. neither warns that the measured peak memory differs from the plan;
#  3. the trace shows the stage functions and the transfers (the 1F1B one
#     the fused send + receive);
#  4. a checkpoint of the stages holds every tensor: the stages resume from
#     it, and so does the single program, alike; the stages load the single
#     program's checkpoint too;
#  5. a tied parameter (W0 in both stages, tied_stages 0b11): the stages
#     train like the single program that holds it once, the two copies stay
#     bitwise alike (their checkpoint slices), the sum over the stages is
#     counted once as all_reduce under "pp.tied_grad" and traced, and the
#     stages resume from the single program's checkpoint;
#  6. --data-npy names every stage's data inputs (each stage loads its own);
#     an unknown name and files whose rows differ are usage errors.
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
# Sends are posted; the forward that rewrites stage 0's activation waits for
# the last one (send_wait).
foreach(check "1f1b.json:\"send\"" "1f1b.json:\"send_wait\"" "1f1b.json:\"forward\""
              "1f1b.rank1.json:\"backward\"" "1f1b.rank1.json:\"recv\"" "gpipe.json:\"send\""
              "gpipe.rank1.json:\"recv\"")
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

# 5. Tied parameters.
run_step("tied reference" 0 "step 6/6 \\| loss"
         "${PROBE}" tied-ref --steps 6 --metrics tied-ref.jsonl --save tied-rck)
run_step("tied gpipe" 0 "step 6/6 \\| loss"
         ${MPI} "${PROBE}" tied-gpipe --steps 6 --log-every 3 --metrics tied-gpipe.jsonl
         --metrics-all --save tied-ck --trace tied-gpipe.json)
run_step("compare tied gpipe" 0 "6 steps agree" "${PROBE}" compare tied-gpipe.jsonl tied-ref.jsonl)
run_step("tied copies alike" 0 "3 tensors alike"
         "${PROBE}" same tied-ck W0 exp_avg:W0 exp_avg_sq:W0)
run_step("tied 1f1b" 0 "step 6/6 \\| loss"
         ${MPI} "${PROBE}" tied-1f1b --steps 6 --log-every 3 --metrics tied-1f1b.jsonl)
run_step("compare tied 1f1b" 0 "6 steps agree" "${PROBE}" compare tied-1f1b.jsonl tied-ref.jsonl)
# W0's gradient: 128 f32 over 2 ranks is 2 x (2-1)/2 x 512 = 512 bytes of
# all_reduce a step, on each stage, and no other all_reduce.
foreach(r 0 1)
  file(STRINGS "${WORKDIR}/tied-gpipe.rank${r}.jsonl" lines)
  list(GET lines 1 line)
  string(JSON tied ERROR_VARIABLE jerr GET "${line}" comm_bytes_by_reason pp.tied_grad)
  string(JSON ar ERROR_VARIABLE jerr2 GET "${line}" comm_bytes all_reduce)
  if(jerr OR jerr2 OR NOT tied EQUAL 512 OR NOT ar EQUAL 512)
    message(FATAL_ERROR "rank ${r}: pp.tied_grad '${tied}' and all_reduce '${ar}' bytes, 512 "
                        "expected: ${line}")
  endif()
endforeach()
foreach(f tied-gpipe.json tied-gpipe.rank1.json)
  file(READ "${WORKDIR}/${f}" trace)
  if(NOT trace MATCHES "\"all_reduce\"[^}]*\"pp.tied_grad\"")
    message(FATAL_ERROR "${f} has no all_reduce event of pp.tied_grad")
  endif()
endforeach()
run_step("tied stages resume from one program" 0 "step 8/8 \\| loss"
         ${MPI} "${PROBE}" tied-1f1b --load tied-rck --steps 2 --metrics tied-resume-pp.jsonl
         --save tied-ck2)
run_step("tied one program resumes" 0 "step 8/8 \\| loss"
         "${PROBE}" tied-ref --load tied-ck --steps 2 --metrics tied-resume-ref.jsonl)
run_step("compare tied resumes" 0 "2 steps agree"
         "${PROBE}" compare tied-resume-pp.jsonl tied-resume-ref.jsonl)
run_step("tied copies alike after resuming" 0 "3 tensors alike"
         "${PROBE}" same tied-ck2 W0 exp_avg:W0 exp_avg_sq:W0)
foreach(case "range:tied parameter 0 is parameter 5, which does not exist"
             "mask:'W0' of stage 0 has the stage mask 0x2, which does not hold this stage"
             "beyond:ties parameter 'W0' to the stages 0x7, beyond its 2 stages"
             "untied:stage 0 ties parameter 'W0' to the stages 0x3, but stage 1 does not tie it"
             "shape:'W0' is float32 \\[16, 8\\].* on stage 0 but float32 \\[15, 8\\]"
             "single:not a pipeline stage \\(num_slots 0\\) ties 1 parameter to other stages")
  string(FIND "${case}" ":" colon)
  string(SUBSTRING "${case}" 0 ${colon} name)
  math(EXPR colon "${colon} + 1")
  string(SUBSTRING "${case}" ${colon} -1 pattern)
  run_step("bad tied ${name}" 1 "${pattern}" "${PROBE}" bad-tied ${name} --steps 1)
endforeach()

# 6. --data-npy with stages: the full list of the plan's data inputs.
run_step("write npy" 0 "" "${PROBE}" write-npy "${WORKDIR}")
set(NPY "input_ids=${WORKDIR}/input_ids.npy,labels=${WORKDIR}/labels.npy")
run_step("npy reference" 0 "step 4/4 \\| loss"
         "${PROBE}" ref --steps 4 --data-npy "${NPY}" --metrics npy-ref.jsonl)
run_step("npy stages" 0 "\\.npy data \\(24 rows\\).*step 4/4 \\| loss"
         ${MPI} "${PROBE}" 1f1b --steps 4 --data-npy "${NPY}" --metrics npy-pp.jsonl)
run_step("compare npy" 0 "4 steps agree" "${PROBE}" compare npy-pp.jsonl npy-ref.jsonl)
run_step("npy unknown name" 2 "no data input 'bogus'.*input_ids, labels"
         ${MPI} "${PROBE}" gpipe --steps 1 --data-npy "${NPY},bogus=${WORKDIR}/labels.npy")
run_step("npy rows differ" 2 "has 20 rows but .* has 24"
         ${MPI} "${PROBE}" gpipe --steps 1 --data-npy
         "input_ids=${WORKDIR}/input_ids.npy,labels=${WORKDIR}/short.npy")
run_step("npy input missing" 2 "no file for the data input 'labels'"
         ${MPI} "${PROBE}" gpipe --steps 1 --data-npy "input_ids=${WORKDIR}/input_ids.npy")
message("ok: pipeline stages (GPipe, 1F1B) match one program; memory plan; trace; checkpoints; "
        "tied parameters; --data-npy")
