namespace CoapEnroll.Coap;

/// <summary>Server-side settings: message layer parameters and block-wise limits.</summary>
public sealed class CoapServerOptions
{
    /// <summary>Transmission parameters of the server's endpoints.</summary>
    public CoapEndpointOptions Endpoint { get; set; } = new();

    /// <summary>The block size the server uses when the client states no preference (RFC 7959 §2.4); at most 1024.</summary>
    public int PreferredBlockSize { get; set; } = 1024;

    /// <summary>The largest request body accepted through Block1; larger ones get 4.13 with Size1 (RFC 7959 §2.9.3).</summary>
    public int MaxRequestBodySize { get; set; } = 64 * 1024;

    /// <summary>Block1 reassemblies a single peer may have open at once.</summary>
    public int MaxTransfersPerPeer { get; set; } = 4;

    /// <summary>Bytes of incomplete Block1 bodies held for one peer.</summary>
    public int MaxReassemblyBytesPerPeer { get; set; } = 256 * 1024;

    /// <summary>Bytes of incomplete Block1 bodies held for all peers together.</summary>
    public int MaxReassemblyBytesTotal { get; set; } = 64 * 1024 * 1024;

    /// <summary>How long an idle block-wise transfer (Block1 reassembly or Block2 cached body) is kept.</summary>
    public TimeSpan TransferLifetime { get; set; } = TimeSpan.FromSeconds(247);

    /// <summary>Observers one resource may have; past it new registrations are served without Observe.</summary>
    public int MaxObserversPerResource { get; set; } = 1024;

    /// <summary>How observe notifications are transmitted (RFC 7641 §4.5).</summary>
    public CoapObserveOptions Observe { get; set; } = new();
}
