using System.Diagnostics.Tracing;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// Loaded into a server process through <c>DOTNET_STARTUP_HOOKS</c> by the bench's <c>sen-cost</c> mode. When
/// <c>COAPENROLL_BENCH_PROBE</c> names a Unix socket path, one background thread listens there and answers each
/// connection with one line read inside the process:
/// <c>allocated=B gen0=N gen1=N gen2=N pause-ms=X jit-methods=N jit-ms=X</c>
/// (<see cref="GC.GetTotalAllocatedBytes(bool)"/> precise, collection counts, total GC pause, methods JIT-compiled and
/// time spent JIT-compiling, all since the process started). The thread blocks in accept between questions, so it costs
/// the server nothing while a phase runs; each answer allocates a few hundred bytes of its own, which the caller measures
/// with two questions back to back and subtracts.
/// With <c>COAPENROLL_BENCH_PROBE_TYPES=1</c> it also samples the runtime's GCAllocationTick events (one per ~100 KB
/// allocated) by type, and a connection that sends <c>types</c> gets the sampled bytes per type since the previous such
/// question, one <c>TYPE BYTES</c> per line. That listener costs CPU, so it is for finding out where allocations go, not
/// for the CPU figures.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        string? path = Environment.GetEnvironmentVariable("COAPENROLL_BENCH_PROBE");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        TypeSampler? sampler = Environment.GetEnvironmentVariable("COAPENROLL_BENCH_PROBE_TYPES") == "1" ? new TypeSampler() : null;
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(4);
        var thread = new Thread(() => Serve(listener, sampler)) { IsBackground = true, Name = "bench probe" };
        thread.Start();
    }

    private static void Serve(Socket listener, TypeSampler? sampler)
    {
        var request = new byte[16];
        while (true)
        {
            using Socket connection = listener.Accept();
            int length = connection.Receive(request);
            string answer;
            if (length >= 5 && Encoding.ASCII.GetString(request, 0, 5) == "types")
            {
                answer = sampler?.TakeSnapshot() ?? "";
            }
            else
            {
                long allocated = GC.GetTotalAllocatedBytes(precise: true);
                answer = string.Create(CultureInfo.InvariantCulture,
                    $"allocated={allocated} gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)} " +
                    $"pause-ms={GC.GetTotalPauseDuration().TotalMilliseconds:F3} jit-methods={System.Runtime.JitInfo.GetCompiledMethodCount()} " +
                    $"jit-ms={System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F3}\n");
            }

            connection.Send(Encoding.ASCII.GetBytes(answer));
            connection.Shutdown(SocketShutdown.Both);
        }
    }

    /// <summary>GCAllocationTick events by type name (the type of the object that crossed each ~100 KB threshold).</summary>
    private sealed class TypeSampler : EventListener
    {
        private readonly Dictionary<string, long> _bytesByType = new(StringComparer.Ordinal);
        private readonly object _lock = new();

        public string TakeSnapshot()
        {
            lock (_lock)
            {
                var text = new StringBuilder();
                foreach (KeyValuePair<string, long> entry in _bytesByType.OrderByDescending(e => e.Value))
                {
                    text.Append(CultureInfo.InvariantCulture, $"{entry.Key} {entry.Value}\n");
                }

                _bytesByType.Clear();
                return text.ToString();
            }
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventId != 10 || eventData.PayloadNames is null) // GCAllocationTick_V4
            {
                return;
            }

            int typeIndex = eventData.PayloadNames.IndexOf("TypeName");
            int amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
            if (typeIndex < 0 || amountIndex < 0)
            {
                return;
            }

            string type = eventData.Payload![typeIndex] as string ?? "?";
            long amount = Convert.ToInt64(eventData.Payload[amountIndex], CultureInfo.InvariantCulture);
            lock (_lock)
            {
                _bytesByType[type] = _bytesByType.GetValueOrDefault(type) + amount;
            }
        }
    }
}
