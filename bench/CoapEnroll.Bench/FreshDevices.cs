using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// New devices made ahead of use for <c>enroll-scale --devices fresh</c>: a background producer issues one
/// <see cref="BenchManufacturer"/> certificate with a new P-256 key per device (numbers from 1 up) into a bounded queue, so that an
/// enrollment or a handshake takes a ready device instead of making one in its critical path. The producer's CPU is this process's
/// and so counts in the load generator's CPU, not in serve's. <see cref="Waits"/> counts the operations that found the queue empty
/// and waited for a device.
/// </summary>
internal sealed class FreshDevices : IAsyncDisposable
{
    private readonly BenchManufacturer _manufacturer;
    private readonly X509Certificate2Collection _serverTrustAnchors;
    private readonly Channel<FreshDevice> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _producer;
    private int _next;
    private long _waits;

    public FreshDevices(BenchManufacturer manufacturer, X509Certificate2Collection serverTrustAnchors, int capacity)
    {
        _manufacturer = manufacturer;
        _serverTrustAnchors = serverTrustAnchors;
        Capacity = capacity;
        _queue = Channel.CreateBounded<FreshDevice>(new BoundedChannelOptions(capacity)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _producer = Task.Run(() => ProduceAsync(_stop.Token));
    }

    public int Capacity { get; }

    /// <summary>Operations that found no device ready and waited for the producer.</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Devices issued so far (taken or still queued).</summary>
    public int Issued => Volatile.Read(ref _next);

    /// <summary>The next new device; waits (and counts the wait) when the producer has none ready.</summary>
    public async ValueTask<FreshDevice> TakeAsync(CancellationToken cancellationToken)
    {
        if (_queue.Reader.TryRead(out FreshDevice? device))
        {
            return device;
        }

        Interlocked.Increment(ref _waits);
        return await _queue.Reader.ReadAsync(cancellationToken);
    }

    private async Task ProduceAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                int number = Interlocked.Increment(ref _next);
                var options = new DtlsClientOptions { ClientCertificate = _manufacturer.IssueDevice(number) };
                options.ServerCertificateTrustAnchors.AddRange(_serverTrustAnchors);
                var device = new FreshDevice(number, options);
                try
                {
                    await _queue.Writer.WriteAsync(device, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    device.Dispose();
                    throw;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped by DisposeAsync.
        }
        catch (Exception ex)
        {
            // A producer that cannot issue leaves every reader waiting forever: end the queue with the cause instead.
            _queue.Writer.TryComplete(ex);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _producer;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Already reported to the readers through the completed queue.
        }

        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out FreshDevice? left))
        {
            left.Dispose();
        }

        _stop.Dispose();
    }
}
