using System.Net;

namespace CoapEnroll.Coap;

/// <summary>A slot of a <see cref="PeerConcurrencyLimiter"/>, returned on <see cref="Dispose"/> (once, however often it is called).</summary>
public sealed class PeerConcurrencyLease : IDisposable
{
    private PeerConcurrencyLimiter? _owner;
    private readonly EndPoint _peer;

    internal PeerConcurrencyLease(PeerConcurrencyLimiter? owner, EndPoint peer, PeerConcurrencyStatus status)
    {
        _owner = owner;
        _peer = peer;
        Status = status;
    }

    public PeerConcurrencyStatus Status { get; }

    public bool Acquired => Status == PeerConcurrencyStatus.Acquired;

    public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Release(_peer);
}
