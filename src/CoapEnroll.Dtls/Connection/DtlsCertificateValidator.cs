using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Dtls;

/// <summary>Peer chain handling shared by both roles: decoding the Certificate message and X509Chain validation.</summary>
internal static class DtlsCertificateValidator
{
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>Decodes DER certificates, leaf first; null when any fails to decode.</summary>
    public static X509Certificate2Collection? TryLoad(IReadOnlyList<byte[]> certificates)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            foreach (byte[] der in certificates)
            {
                collection.Add(X509CertificateLoader.LoadCertificate(der));
            }

            return collection;
        }
        catch (CryptographicException)
        {
            foreach (X509Certificate2 certificate in collection)
            {
                certificate.Dispose();
            }

            return null;
        }
    }

    /// <summary>
    /// Builds the chain of <paramref name="chain"/>[0] to one of <paramref name="trustAnchors"/> only
    /// (custom root trust), with time validity at <paramref name="now"/> and the given EKU. The rest of
    /// <paramref name="chain"/> and the locally configured <paramref name="intermediates"/> are untrusted path-building helpers.
    /// </summary>
    public static bool Validate(X509Certificate2Collection chain, X509Certificate2Collection trustAnchors, X509Certificate2Collection intermediates,
        X509RevocationMode revocationMode, DateTimeOffset now, string ekuOid) =>
        Validate(chain, trustAnchors, intermediates, revocationMode, now, ekuOid, out _, out _);

    /// <summary>
    /// <see cref="Validate(X509Certificate2Collection, X509Certificate2Collection, X509Certificate2Collection, X509RevocationMode, DateTimeOffset, string)"/>,
    /// and the time span within which every certificate of the path that was built is valid.
    /// </summary>
    public static bool Validate(X509Certificate2Collection chain, X509Certificate2Collection trustAnchors, X509Certificate2Collection intermediates,
        X509RevocationMode revocationMode, DateTimeOffset now, string ekuOid, out DateTimeOffset pathNotBefore, out DateTimeOffset pathNotAfter)
    {
        pathNotBefore = DateTimeOffset.MaxValue;
        pathNotAfter = DateTimeOffset.MinValue;
        if (chain.Count == 0 || trustAnchors.Count == 0)
        {
            return false;
        }

        var builder = new CertificateChainBuilder(trustAnchors) { RevocationMode = revocationMode, ApplicationPolicy = ekuOid };
        if (!builder.TryBuild(chain[0], [.. chain.Skip(1), .. intermediates], now, out IReadOnlyList<X509Certificate2>? path))
        {
            return false;
        }

        pathNotBefore = DateTimeOffset.MinValue;
        pathNotAfter = DateTimeOffset.MaxValue;
        foreach (X509Certificate2 element in path)
        {
            // X509Certificate2 gives local times; as instants they compare correctly.
            DateTimeOffset from = new(element.NotBefore.ToUniversalTime(), TimeSpan.Zero);
            DateTimeOffset to = new(element.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            pathNotBefore = from > pathNotBefore ? from : pathNotBefore;
            pathNotAfter = to < pathNotAfter ? to : pathNotAfter;

            // The path's certificates are copies the chain made: without this each handshake left them to the finalizer.
            element.Dispose();
        }

        return true;
    }

    /// <summary>The signature scheme matching a peer ECDSA key (P-256 → SHA-256, P-384 → SHA-384), or null.</summary>
    public static SignatureScheme? SchemeFor(ECDsa key) => key.KeySize switch
    {
        256 => SignatureScheme.EcdsaSecp256r1Sha256,
        384 => SignatureScheme.EcdsaSecp384r1Sha384,
        _ => null,
    };
}
