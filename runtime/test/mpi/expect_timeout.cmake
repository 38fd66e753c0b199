# Runs the timeout probe on 2 ranks and checks that the job fails (instead of
# hanging) with a message naming the rank and the operation, and that the
# trace rank 0 had open is still valid JSON containing its event.
file(REMOVE "${TRACE}")
execute_process(
  COMMAND "${MPIEXEC}" --allow-run-as-root --oversubscribe ${NP_FLAG} 2 "${PROBE}" "${TRACE}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 100)
message("exit status: ${rc}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "the probe exited 0; a timed-out collective must end the job non-zero")
endif()
if(NOT "${out}${err}" MATCHES
   "pzrt: rank 0 \\(of 2\\): all_reduce on communicator 'world' [^\n]*timed out after")
  message(FATAL_ERROR "no timeout message naming rank 0 and all_reduce")
endif()
if(NOT EXISTS "${TRACE}")
  message(FATAL_ERROR "trace ${TRACE} was not written")
endif()
file(READ "${TRACE}" trace)
string(JSON events ERROR_VARIABLE jerr GET "${trace}" traceEvents)
if(jerr)
  message(FATAL_ERROR "trace is not valid JSON: ${jerr}")
endif()
if(NOT trace MATCHES "\"before-timeout\"")
  message(FATAL_ERROR "trace lacks the event recorded before the timeout")
endif()
message("ok: timeout detected and reported; trace valid")
