# Helpers shared by the CLI scenarios (sourced, not run); they call the AWS CLI at "$aws".

# settled <trail>: after StopLogging, waits until the trail's final digests are written: its latest digest delivery is
# after the stop and has stayed the same for 3 seconds (longer than the digest interval).
settled() {
  local last="" same=0 now
  for _ in $(seq 120); do
    now=$("$aws" cloudtrail get-trail-status --name "$1" --query '[StopLoggingTime, LatestDigestDeliveryTime]' --output text)
    if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; last=$now; fi
    if [ "$same" -ge 6 ] && python3 -c 'import sys; s, d = sys.argv[1].split(); sys.exit(not (s != "None" and d != "None" and float(d) >= float(s)))' "$now"; then
      return 0
    fi
    sleep 0.5
  done
  echo "the final digests of $1 were never written ($now)" >&2; exit 1
}
