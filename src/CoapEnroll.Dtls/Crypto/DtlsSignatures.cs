using System.Formats.Asn1;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// ECDSA for the two signed handshake messages, in the DER Ecdsa-Sig-Value encoding TLS uses
/// (RFC 8422 §5.4, §5.8; RFC 5246 §7.4.3, §7.4.8).
/// <list type="bullet">
/// <item>ServerKeyExchange: signature over client_random + server_random + ServerECDHParams.</item>
/// <item>CertificateVerify: signature over all handshake messages so far (the transcript bytes).</item>
/// </list>
/// Verification first checks the DER strictly with System.Formats.Asn1 and requires 0 &lt; r, s &lt; n
/// for the key's curve (P-256 or P-384) rather than relying on the platform, then verifies. Only
/// ecdsa_secp256r1_sha256 and ecdsa_secp384r1_sha384 are accepted.
/// </summary>
internal static class DtlsSignatures
{
    // Group orders (SEC 2 §2.4.2, §2.5.1), big-endian.
    private static readonly byte[] s_p256Order = Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    private static readonly byte[] s_p384Order = Convert.FromHexString(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973");

    /// <summary>The hash a supported scheme uses; false for anything else.</summary>
    public static bool TryGetHash(SignatureScheme scheme, out HashAlgorithmName hash)
    {
        switch (scheme)
        {
            case SignatureScheme.EcdsaSecp256r1Sha256:
                hash = HashAlgorithmName.SHA256;
                return true;
            case SignatureScheme.EcdsaSecp384r1Sha384:
                hash = HashAlgorithmName.SHA384;
                return true;
            default:
                hash = default;
                return false;
        }
    }

    /// <summary>Signs ServerECDHParams (the raw bytes, see <see cref="EcdheServerKeyExchange.Parameters"/>).</summary>
    public static byte[] SignServerKeyExchange(ECDsa key, SignatureScheme scheme, ReadOnlySpan<byte> clientRandom,
        ReadOnlySpan<byte> serverRandom, ReadOnlySpan<byte> serverParams)
    {
        byte[] data = ServerKeyExchangeSignedData(clientRandom, serverRandom, serverParams);
        return Sign(key, scheme, data);
    }

    /// <summary>Verifies a ServerKeyExchange signature; false for any malformed or invalid signature.</summary>
    public static bool VerifyServerKeyExchange(ECDsa publicKey, SignatureScheme scheme, ReadOnlySpan<byte> clientRandom,
        ReadOnlySpan<byte> serverRandom, ReadOnlySpan<byte> serverParams, ReadOnlySpan<byte> signature)
    {
        byte[] data = ServerKeyExchangeSignedData(clientRandom, serverRandom, serverParams);
        return Verify(publicKey, scheme, data, signature);
    }

    /// <summary>Signs the CertificateVerify input: the handshake messages so far (<see cref="HandshakeTranscript.Messages"/>).</summary>
    public static byte[] SignCertificateVerify(ECDsa key, SignatureScheme scheme, ReadOnlySpan<byte> handshakeMessages) =>
        Sign(key, scheme, handshakeMessages);

    /// <summary>Verifies a CertificateVerify signature over the handshake messages preceding it.</summary>
    public static bool VerifyCertificateVerify(ECDsa publicKey, SignatureScheme scheme, ReadOnlySpan<byte> handshakeMessages,
        ReadOnlySpan<byte> signature) =>
        Verify(publicKey, scheme, handshakeMessages, signature);

    /// <summary>
    /// Strict check of a DER Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } for a curve of
    /// <paramref name="keySizeBits"/> (256 or 384): minimal DER, no trailing bytes, positive, 0 &lt; r, s &lt; n.
    /// </summary>
    public static bool IsWellFormedSignature(ReadOnlySpan<byte> signature, int keySizeBits)
    {
        byte[]? order = keySizeBits switch
        {
            256 => s_p256Order,
            384 => s_p384Order,
            _ => null,
        };
        if (order is null)
        {
            return false;
        }

        try
        {
            var reader = new AsnReader(signature.ToArray(), AsnEncodingRules.DER);
            AsnReader sequence = reader.ReadSequence();
            if (reader.HasData)
            {
                return false;
            }

            ReadOnlyMemory<byte> r = sequence.ReadIntegerBytes();
            ReadOnlyMemory<byte> s = sequence.ReadIntegerBytes();
            return !sequence.HasData && IsInRange(r.Span, order) && IsInRange(s.Span, order);
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    private static bool IsInRange(ReadOnlySpan<byte> integer, ReadOnlySpan<byte> order)
    {
        // DER integers are two's complement and minimal: a set top bit means negative.
        if (integer.IsEmpty || (integer[0] & 0x80) != 0)
        {
            return false;
        }

        if (integer[0] == 0)
        {
            integer = integer[1..]; // sign byte
        }

        if (integer.IsEmpty || integer.IndexOfAnyExcept((byte)0) < 0)
        {
            return false; // zero
        }

        if (integer.Length != order.Length)
        {
            return integer.Length < order.Length;
        }

        return integer.SequenceCompareTo(order) < 0;
    }

    private static byte[] Sign(ECDsa key, SignatureScheme scheme, ReadOnlySpan<byte> data)
    {
        if (!TryGetHash(scheme, out HashAlgorithmName hash))
        {
            throw new ArgumentException("Unsupported signature scheme.", nameof(scheme));
        }

        return key.SignData(data, hash, DSASignatureFormat.Rfc3279DerSequence);
    }

    private static bool Verify(ECDsa publicKey, SignatureScheme scheme, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (!TryGetHash(scheme, out HashAlgorithmName hash) || !IsWellFormedSignature(signature, publicKey.KeySize))
        {
            return false;
        }

        try
        {
            return publicKey.VerifyData(data, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static byte[] ServerKeyExchangeSignedData(ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom, ReadOnlySpan<byte> serverParams)
    {
        if (clientRandom.Length != DtlsKeySchedule.RandomLength || serverRandom.Length != DtlsKeySchedule.RandomLength)
        {
            throw new ArgumentException("Randoms are 32 bytes.");
        }

        byte[] data = new byte[64 + serverParams.Length];
        clientRandom.CopyTo(data);
        serverRandom.CopyTo(data.AsSpan(32));
        serverParams.CopyTo(data.AsSpan(64));
        return data;
    }
}
