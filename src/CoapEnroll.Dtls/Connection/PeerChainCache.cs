using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Dtls;

/// <summary>
/// Peer certificate chains that validated, keyed by the exact bytes of the Certificate message that carried them, so a peer
/// seen again costs neither the DER decoding (OpenSSL 3.0's d2i_X509 is as dear as several ECDSA signatures) nor another
/// X509Chain. The server keeps one for client chains (a device that connects again), the client one for server chains (a
/// gateway or device that reconnects to the same server); each instance lives on one options object, so the extended key
/// usage it validated for is fixed. Only a positive decision is kept, and it is reused only while it would still be the same
/// decision:
/// <list type="bullet">
/// <item>never with revocation checking (a certificate can be revoked at any time): every chain is then built;</item>
/// <item>only while the time is inside every validity period of the path that was built (leaf to trust anchor);</item>
/// <item>only while the trust anchors, intermediates and revocation mode are those it was built with (the cache empties
/// itself otherwise);</item>
/// <item>for <see cref="EntryLifetime"/> at most, which bounds how long a change the options cannot show (the platform's
/// disallowed store) goes unnoticed.</item>
/// </list>
/// Bounded by <see cref="PeerChainPolicy.Capacity"/> (oldest entries go first); a peer needs a chain that validates to add an
/// entry. Checks that depend on the connection and not on the chain (the client's server name) are not part of the decision.
/// The certificates are shared by the sessions that presented the same chain: each session gets its own collection of them,
/// and nothing disposes them (a session may still expose them after eviction).
/// </summary>
internal sealed class PeerChainCache
{
    /// <summary>How long a validation decision is reused at most.</summary>
    public static readonly TimeSpan EntryLifetime = TimeSpan.FromMinutes(5);

    private readonly Lock _lock = new();
    private readonly Dictionary<byte[], Entry> _entries = new(ConnectionIdComparer.Instance);
    private readonly Dictionary<byte[], Entry>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly Queue<byte[]> _order = new();
    private X509Certificate2[] _anchors = [];
    private X509Certificate2[] _intermediates = [];
    private X509RevocationMode _revocationMode;

    public PeerChainCache() => _lookup = _entries.GetAlternateLookup<ReadOnlySpan<byte>>();

    /// <summary>Entries held (for tests).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The server's <see cref="TryGet(ReadOnlySpan{byte}, PeerChainPolicy, DateTimeOffset, out X509Certificate2[])"/> for client chains.</summary>
    public bool TryGet(ReadOnlySpan<byte> certificateMessage, DtlsServerOptions options, DateTimeOffset now,
        [NotNullWhen(true)] out X509Certificate2[]? certificates) =>
        TryGet(certificateMessage, PeerChainPolicy.Of(options), now, out certificates);

    /// <summary>
    /// A chain that validated under <paramref name="options"/>' current trust settings and whose path is time-valid at
    /// <paramref name="now"/>, presented in a Certificate message whose body was <paramref name="certificateMessage"/>.
    /// </summary>
    public bool TryGet(ReadOnlySpan<byte> certificateMessage, PeerChainPolicy options, DateTimeOffset now,
        [NotNullWhen(true)] out X509Certificate2[]? certificates)
    {
        certificates = null;
        if (options.Capacity <= 0 || options.RevocationMode != X509RevocationMode.NoCheck)
        {
            return false;
        }

        long timestamp = options.TimeProvider.GetTimestamp();
        lock (_lock)
        {
            if (!HasSamePolicy(options) || !_lookup.TryGetValue(certificateMessage, out Entry? entry))
            {
                return false;
            }

            if (now < entry.NotBefore || now > entry.NotAfter || options.TimeProvider.GetElapsedTime(entry.Added, timestamp) > EntryLifetime)
            {
                return false; // left where it is: the queue removes it, or a fresh validation replaces it
            }

            certificates = entry.Certificates;
            return true;
        }
    }

    /// <summary>The server's <see cref="Add(ReadOnlySpan{byte}, X509Certificate2[], DateTimeOffset, DateTimeOffset, PeerChainPolicy)"/> for client chains.</summary>
    public void Add(ReadOnlySpan<byte> certificateMessage, X509Certificate2[] certificates, DateTimeOffset notBefore, DateTimeOffset notAfter,
        DtlsServerOptions options) =>
        Add(certificateMessage, certificates, notBefore, notAfter, PeerChainPolicy.Of(options));

    /// <summary>
    /// Remembers that <paramref name="certificates"/> (as sent, leaf first) validated under <paramref name="options"/> along a path
    /// valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>; nothing happens when caching does not apply
    /// (revocation checking, capacity 0).
    /// </summary>
    public void Add(ReadOnlySpan<byte> certificateMessage, X509Certificate2[] certificates, DateTimeOffset notBefore, DateTimeOffset notAfter,
        PeerChainPolicy options)
    {
        if (options.Capacity <= 0 || options.RevocationMode != X509RevocationMode.NoCheck || notBefore > notAfter)
        {
            return;
        }

        var entry = new Entry(certificates, notBefore, notAfter, options.TimeProvider.GetTimestamp());
        lock (_lock)
        {
            if (!HasSamePolicy(options))
            {
                _entries.Clear();
                _order.Clear();
                _anchors = [.. options.TrustAnchors];
                _intermediates = [.. options.Intermediates];
                _revocationMode = options.RevocationMode;
            }

            if (_lookup.ContainsKey(certificateMessage))
            {
                _lookup[certificateMessage] = entry; // a fresh decision for a known chain: the key keeps its place in the queue
                return;
            }

            while (_entries.Count >= options.Capacity && _order.TryDequeue(out byte[]? oldest))
            {
                _entries.Remove(oldest);
            }

            byte[] key = certificateMessage.ToArray();
            _entries.Add(key, entry);
            _order.Enqueue(key);
        }
    }

    private bool HasSamePolicy(PeerChainPolicy options) =>
        options.RevocationMode == _revocationMode &&
        SameReferences(options.TrustAnchors, _anchors) &&
        SameReferences(options.Intermediates, _intermediates);

    private static bool SameReferences(X509Certificate2Collection current, X509Certificate2[] snapshot)
    {
        if (current.Count != snapshot.Length)
        {
            return false;
        }

        for (int i = 0; i < snapshot.Length; i++)
        {
            if (!ReferenceEquals(current[i], snapshot[i]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed record Entry(X509Certificate2[] Certificates, DateTimeOffset NotBefore, DateTimeOffset NotAfter, long Added);
}
