namespace CoapEnroll.Coap;

/// <summary>The outcome of <see cref="PeerConcurrencyLimiter.TryAcquire"/>.</summary>
public enum PeerConcurrencyStatus
{
    /// <summary>A slot was taken; dispose the lease to return it.</summary>
    Acquired,

    /// <summary>The peer already has <see cref="PeerConcurrencyLimiter.MaxPerPeer"/> in flight (answer 4.29, RFC 8516).</summary>
    PeerLimit,

    /// <summary>All peers together have <see cref="PeerConcurrencyLimiter.MaxTotal"/> in flight (answer 5.03).</summary>
    TotalLimit,
}
