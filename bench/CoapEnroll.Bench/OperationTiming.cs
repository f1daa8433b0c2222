namespace CoapEnroll.Bench;

/// <summary>
/// One operation of the <see cref="CryptoBound"/>: on one thread, wall and process CPU microseconds per operation; on
/// <see cref="Cores"/> threads at once, operations per second by the wall clock.
/// </summary>
internal sealed record OperationTiming(string Name, long SingleThreadCount, double WallUs, double CpuUs, double AllCoresPerSecond, int Cores);
