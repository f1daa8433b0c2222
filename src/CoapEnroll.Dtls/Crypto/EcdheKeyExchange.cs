using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// One ephemeral ECDH key on secp256r1 (RFC 8422 §5.4, §5.7, §5.10): the public point in uncompressed
/// form (0x04 || X || Y, 65 bytes) and the premaster secret = the shared point's X coordinate (32 bytes,
/// leading zeros kept). Peer points are validated: length, prefix, and on-curve (the platform's import
/// rejects off-curve points; we catch and report). Use once per handshake, then dispose.
/// </summary>
internal sealed class EcdheKeyExchange : IDisposable
{
    /// <summary>Length of an uncompressed P-256 point.</summary>
    public const int PointLength = 65;

    /// <summary>Length of the P-256 premaster secret.</summary>
    public const int SharedSecretLength = 32;

    private readonly ECDiffieHellman _key;

    private EcdheKeyExchange(ECDiffieHellman key)
    {
        _key = key;
        ECParameters p = key.ExportParameters(includePrivateParameters: false);
        PublicPoint = new byte[PointLength];
        PublicPoint[0] = 0x04;
        p.Q.X!.CopyTo(PublicPoint, 1 + 32 - p.Q.X!.Length);
        p.Q.Y!.CopyTo(PublicPoint, 1 + 64 - p.Q.Y!.Length);
    }

    /// <summary>The named group; always secp256r1.</summary>
    public static NamedGroup Group => NamedGroup.Secp256r1;

    /// <summary>Our public point, uncompressed (for ServerKeyExchange / ClientKeyExchange).</summary>
    public byte[] PublicPoint { get; }

    /// <summary>Generates a fresh ephemeral key.</summary>
    public static EcdheKeyExchange Create() => new(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>
    /// Validates <paramref name="peerPoint"/> and writes the 32-byte premaster secret. False (nothing thrown)
    /// for a point of the wrong length or format, not on the curve, or equal to our own.
    /// </summary>
    public bool TryDeriveSharedSecret(ReadOnlySpan<byte> peerPoint, Span<byte> preMasterSecret)
    {
        if (preMasterSecret.Length < SharedSecretLength)
        {
            throw new ArgumentException("Destination too small.", nameof(preMasterSecret));
        }

        if (peerPoint.Length != PointLength || peerPoint[0] != 0x04 || peerPoint.SequenceEqual(PublicPoint))
        {
            return false;
        }

        var parameters = new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = peerPoint.Slice(1, 32).ToArray(), Y = peerPoint.Slice(33, 32).ToArray() },
        };
        byte[]? secret = null;
        try
        {
            using ECDiffieHellman peer = ECDiffieHellman.Create();
            peer.ImportParameters(parameters); // validates the point is on the curve
            secret = _key.DeriveRawSecretAgreement(peer.PublicKey);
            if (secret.Length != SharedSecretLength)
            {
                return false;
            }

            secret.CopyTo(preMasterSecret);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
        finally
        {
            if (secret is not null)
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}
