namespace CoapEnroll.Coap;

/// <summary>Server-side settings: message layer parameters and block-wise limits.</summary>
/// <remarks>
/// Block1 reassembly (RFC 7959 §2.5) holds request bodies until their last block. What it holds is bounded per peer (a UDP
/// address and port, or a DTLS session), per source address (an IPv4 address or an IPv6 /64, over all ports and sessions),
/// and in total. The general bounds apply to every peer; unauthenticated peers (plain UDP, and DTLS sessions without a
/// validated client certificate or a PSK) are further held to the smaller <c>MaxUnauthenticated…</c> bounds, so that strangers
/// share a small part of the budget and never the part an authenticated device needs.
/// </remarks>
public sealed class CoapServerOptions
{
    /// <summary>Transmission parameters of the server's endpoints.</summary>
    public CoapEndpointOptions Endpoint { get; set; } = new();

    /// <summary>The block size the server uses when the client states no preference (RFC 7959 §2.4); at most 1024.</summary>
    public int PreferredBlockSize { get; set; } = 1024;

    /// <summary>The largest request body accepted through Block1; larger ones get 4.13 with Size1 (RFC 7959 §2.9.3).</summary>
    public int MaxRequestBodySize { get; set; } = 64 * 1024;

    /// <summary>Block1 reassemblies a single peer may have open at once; also Block2 bodies cached for one peer.</summary>
    public int MaxTransfersPerPeer { get; set; } = 4;

    /// <summary>Bytes of incomplete Block1 bodies held for one peer (and of Block2 bodies cached for it).</summary>
    public int MaxReassemblyBytesPerPeer { get; set; } = 256 * 1024;

    /// <summary>Bytes of incomplete Block1 bodies held for all peers at one source address together.</summary>
    public int MaxReassemblyBytesPerAddress { get; set; } = 1024 * 1024;

    /// <summary>Bytes of incomplete Block1 bodies held for all peers together (and of cached Block2 bodies, counted apart).</summary>
    public int MaxReassemblyBytesTotal { get; set; } = 64 * 1024 * 1024;

    /// <summary>Block1 reassemblies the unauthenticated peers at one source address may have open together, over all their ports.</summary>
    public int MaxUnauthenticatedTransfersPerAddress { get; set; } = 4;

    /// <summary>Bytes of incomplete Block1 bodies held for the unauthenticated peers at one source address together.</summary>
    public int MaxUnauthenticatedReassemblyBytesPerAddress { get; set; } = 16 * 1024;

    /// <summary>Bytes of incomplete Block1 bodies held for all unauthenticated peers together: the strangers' share of the total.</summary>
    public int MaxUnauthenticatedReassemblyBytesTotal { get; set; } = 2 * 1024 * 1024;

    /// <summary>How long an idle block-wise transfer (Block1 reassembly or Block2 cached body) is kept.</summary>
    public TimeSpan TransferLifetime { get; set; } = TimeSpan.FromSeconds(247);

    /// <summary>Observers one resource may have; past it new registrations are served without Observe.</summary>
    public int MaxObserversPerResource { get; set; } = 1024;

    /// <summary>
    /// Observations one peer (a UDP address and port, or a DTLS session) may hold on all resources; past it a new
    /// registration is served as a plain GET, without Observe (RFC 7641 §4.1). Renewing one it holds is no new one.
    /// </summary>
    public int MaxObserversPerPeer { get; set; } = 16;

    /// <summary>The same for all peers at one source address (an IPv4 address or an IPv6 /64), over all their ports and sessions.</summary>
    public int MaxObserversPerAddress { get; set; } = 256;

    /// <summary>Observations all peers together may hold. Each keeps its request and a little transmission state (about 1 KB).</summary>
    public int MaxObservers { get; set; } = 10_000;

    /// <summary>How observe notifications are transmitted (RFC 7641 §4.5).</summary>
    public CoapObserveOptions Observe { get; set; } = new();

    /// <summary>Throws when a block-wise or observe limit cannot work, naming its configuration key (in the <c>Coap</c> section of serve).</summary>
    /// <exception cref="ArgumentException">A limit is out of range.</exception>
    internal void ValidateBlockWise()
    {
        if (PreferredBlockSize < BlockWiseHelpers.MinBlockSize)
        {
            throw Invalid(nameof(PreferredBlockSize), PreferredBlockSize, $"at least {BlockWiseHelpers.MinBlockSize}");
        }

        if (TransferLifetime <= TimeSpan.Zero)
        {
            throw Invalid(nameof(TransferLifetime), TransferLifetime, "positive");
        }

        Positive(nameof(MaxTransfersPerPeer), MaxTransfersPerPeer);
        NotNegative(nameof(MaxObserversPerResource), MaxObserversPerResource);
        NotNegative(nameof(MaxObserversPerPeer), MaxObserversPerPeer);
        NotNegative(nameof(MaxObserversPerAddress), MaxObserversPerAddress);
        NotNegative(nameof(MaxObservers), MaxObservers);
        Positive(nameof(MaxUnauthenticatedTransfersPerAddress), MaxUnauthenticatedTransfersPerAddress);
        NotNegative(nameof(MaxRequestBodySize), MaxRequestBodySize);
        NotNegative(nameof(MaxReassemblyBytesPerPeer), MaxReassemblyBytesPerPeer);
        NotNegative(nameof(MaxReassemblyBytesPerAddress), MaxReassemblyBytesPerAddress);
        NotNegative(nameof(MaxReassemblyBytesTotal), MaxReassemblyBytesTotal);
        NotNegative(nameof(MaxUnauthenticatedReassemblyBytesPerAddress), MaxUnauthenticatedReassemblyBytesPerAddress);
        NotNegative(nameof(MaxUnauthenticatedReassemblyBytesTotal), MaxUnauthenticatedReassemblyBytesTotal);

        // The strangers' share must leave something to the peers that authenticated; the bounds below it may exceed the
        // ones above (a smaller total simply wins), but a share as large as the whole would let strangers take all of it.
        if (MaxUnauthenticatedReassemblyBytesTotal >= MaxReassemblyBytesTotal && MaxReassemblyBytesTotal > 0)
        {
            throw Invalid(nameof(MaxUnauthenticatedReassemblyBytesTotal), MaxUnauthenticatedReassemblyBytesTotal,
                $"less than Coap:{nameof(MaxReassemblyBytesTotal)} ({MaxReassemblyBytesTotal})");
        }

        static void Positive(string name, int value)
        {
            if (value < 1)
            {
                throw Invalid(name, value, "at least 1");
            }
        }

        static void NotNegative(string name, int value)
        {
            if (value < 0)
            {
                throw Invalid(name, value, "0 or more");
            }
        }

        static ArgumentException Invalid(string name, object value, string expected) =>
            new($"Coap:{name} must be {expected} (it is {value}).");
    }
}
