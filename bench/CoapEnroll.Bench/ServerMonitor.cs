using System.Diagnostics;

namespace CoapEnroll.Bench;

/// <summary>
/// Watches a server process during a run: VmRSS every <see cref="SamplePeriod"/> (start, peak, end), CPU time, and the
/// receive-buffer drops of its sockets.
/// </summary>
internal sealed class ServerMonitor
{
    public static readonly TimeSpan SamplePeriod = TimeSpan.FromMilliseconds(200);

    private readonly int _pid;
    private readonly int[] _ports;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(double Seconds, long Bytes)> _samples = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TimeSpan _cpuAtStart;
    private readonly long _dropsAtStart;
    private Task _sampler = Task.CompletedTask;

    private ServerMonitor(int pid, int[] ports)
    {
        _pid = pid;
        _ports = ports;
        RssStart = ProcessStats.ResidentBytes(pid);
        _cpuAtStart = ProcessStats.CpuTime(pid);
        _dropsAtStart = ports.Sum(UdpSocketStats.Drops);
        _samples.Add((0, RssStart));
    }

    public long RssStart { get; }

    public long RssPeak { get; private set; }

    public long RssEnd { get; private set; }

    public TimeSpan Cpu { get; private set; }

    public long SocketDrops { get; private set; }

    /// <summary>VmRSS once a second (the highest sample of each second), for the JSON output.</summary>
    public IReadOnlyList<long> RssPerSecond =>
        [.. _samples.GroupBy(s => (int)s.Seconds).OrderBy(g => g.Key).Select(g => g.Max(s => s.Bytes))];

    public static ServerMonitor Start(int pid, params int[] ports)
    {
        var monitor = new ServerMonitor(pid, ports);
        monitor._sampler = Task.Run(monitor.SampleAsync);
        return monitor;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        RssEnd = ProcessStats.ResidentBytes(_pid);
        _samples.Add((_clock.Elapsed.TotalSeconds, RssEnd));
        RssPeak = _samples.Max(s => s.Bytes);
        Cpu = ProcessStats.CpuTime(_pid) - _cpuAtStart;
        SocketDrops = _ports.Sum(UdpSocketStats.Drops) - _dropsAtStart;
    }

    private async Task SampleAsync()
    {
        using var timer = new PeriodicTimer(SamplePeriod);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                _samples.Add((_clock.Elapsed.TotalSeconds, ProcessStats.ResidentBytes(_pid)));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
