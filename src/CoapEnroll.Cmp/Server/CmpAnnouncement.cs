using System.Numerics;
using CoapEnroll.Ca;

namespace CoapEnroll.Cmp;

/// <summary>An announcement PKIMessage (RFC 9810 §5.3.13–16) as the server built it: signed, DER-encoded, ready to send.</summary>
public sealed record CmpAnnouncement
{
    /// <summary>The body: <see cref="PkiBodyType.Crlann"/> or <see cref="PkiBodyType.Ckuann"/>.</summary>
    public required PkiBodyType BodyType { get; init; }

    /// <summary>The DER PKIMessage, signed with the server's CMP certificate, its chain in extraCerts.</summary>
    public required ReadOnlyMemory<byte> Der { get; init; }

    /// <summary>For a CRL announcement, the cRLNumber of the announced CRL.</summary>
    public BigInteger? CrlNumber { get; init; }

    /// <summary>For a CRL announcement, the announced CRL's nextUpdate: how long the announcement stays current.</summary>
    public DateTimeOffset? NextUpdate { get; init; }

    /// <summary>For a CA key update announcement, the update announced.</summary>
    public RootCaKeyUpdate? RootCaKeyUpdate { get; init; }

    /// <summary>The messageTime of the PKIMessage.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
}
