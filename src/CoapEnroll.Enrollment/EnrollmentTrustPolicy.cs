using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment;

/// <summary>
/// Which client certificates may ask for certificates at all (RFC 9148 §3, RFC 7030 §3.3.2): those chaining to this CA's trust
/// anchor through its issuing CA, and those chaining to a trusted manufacturer CA. The same anchors configure the (D)TLS
/// handshake (<see cref="ClientTrustAnchors"/>, <see cref="ClientIntermediates"/>), so the transport and the enrollment decision
/// trust the same CAs; the decision is made here again, independent of the transport's own check.
/// </summary>
public sealed class EnrollmentTrustPolicy
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string AnyExtendedKeyUsageOid = "2.5.29.37.0";

    /// <summary>id-kp-cmcRA (RFC 6402 §2.10): the certificate's holder is a registration authority.</summary>
    public const string CmcRaOid = "1.3.6.1.5.5.7.3.28";

    private readonly CaHierarchy _hierarchy;
    private readonly TrustDecisionCache _decisions = new();

    public EnrollmentTrustPolicy(CaHierarchy hierarchy, bool acceptExpiredManufacturerCertificates = false)
    {
        ArgumentNullException.ThrowIfNull(hierarchy);
        _hierarchy = hierarchy;
        AcceptExpiredManufacturerCertificates = acceptExpiredManufacturerCertificates;
    }

    /// <summary>True when manufacturer certificates are accepted after they expired.</summary>
    public bool AcceptExpiredManufacturerCertificates { get; }

    /// <summary>The trust anchors for client certificates: this CA's trust anchor, the trusted manufacturer CAs and the trusted registrar CAs.</summary>
    public IReadOnlyList<X509Certificate2> ClientTrustAnchors => [_hierarchy.TrustAnchor, .. _hierarchy.TrustedManufacturerCas, .. _hierarchy.TrustedRegistrarCas];

    /// <summary>
    /// The CA certificates between this CA's trust anchor and the certificates it issues (devices present only their leaf), as
    /// public copies: whoever builds chains with them never needs the issuing CA's key.
    /// </summary>
    public IReadOnlyList<X509Certificate2> ClientIntermediates =>
        [.. _hierarchy.CaCertificates.Where(c => c.Thumbprint != _hierarchy.TrustAnchor.Thumbprint).Select(c => X509CertificateLoader.LoadCertificate(c.RawData))];

    /// <summary>
    /// What <paramref name="presented"/> (leaf first, then the intermediates the peer sent) chains to at <paramref name="now"/>:
    /// <see cref="RequesterTrust.ThisCa"/> when issued by this CA's issuing CA (whether it is still active is the store's to say),
    /// <see cref="RequesterTrust.Manufacturer"/> for a trusted manufacturer CA, null for neither.
    /// </summary>
    public RequesterTrust? Evaluate(IReadOnlyList<X509Certificate2> presented, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(presented);
        if (presented.Count == 0)
        {
            return null;
        }

        // The same certificates, judged before under the same (immutable) anchors, within the validity of the path then built.
        if (_decisions.TryGet(presented, now, out RequesterTrust known))
        {
            return known;
        }

        // A file of trusted CAs may hold a root and the CAs below it (an upstream CA's chain, for a registrar): the latter are
        // also offered as intermediates, so that a device presenting only its own certificate still chains to the root.
        if (ChainsTo(presented, [_hierarchy.TrustAnchor], [_hierarchy.IssuingCa, .. _hierarchy.Intermediates], now, ignoreTime: false, out IReadOnlyList<X509Certificate2>? path)
            && path[1].Thumbprint == _hierarchy.IssuingCa.Thumbprint)
        {
            return Remember(presented, RequesterTrust.ThisCa, path, now);
        }

        if (_hierarchy.TrustedManufacturerCas.Count > 0
            && ChainsTo(presented, _hierarchy.TrustedManufacturerCas, _hierarchy.TrustedManufacturerCas, now, ignoreTime: AcceptExpiredManufacturerCertificates, out path))
        {
            return Remember(presented, RequesterTrust.Manufacturer, path, now);
        }

        return null;
    }

    /// <summary>Decisions of <see cref="Evaluate"/> reused (for tests).</summary>
    internal TrustDecisionCache Decisions => _decisions;

    /// <summary>True when <paramref name="presented"/> (leaf first) chains at <paramref name="now"/> to a trusted registrar CA (<see cref="CaHierarchy.TrustedRegistrarCas"/>).</summary>
    public bool ChainsToRegistrarCa(IReadOnlyList<X509Certificate2> presented, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(presented);
        return presented.Count > 0 && _hierarchy.TrustedRegistrarCas.Count > 0
            && ChainsTo(presented, _hierarchy.TrustedRegistrarCas, [], now, ignoreTime: false, out _);
    }

    /// <summary>
    /// True when <paramref name="leaf"/> carries extendedKeyUsage id-kp-cmcRA (RFC 6402 §2.10), the usage of a registrar (RFC 7030
    /// §3.7); anyExtendedKeyUsage does not make a registrar. An extension that cannot be decoded makes none either.
    /// </summary>
    public static bool HasRegistrarUsage(X509Certificate2 leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        try
        {
            return CertificateUsage.HasExtendedKeyUsage(leaf, CmcRaOid);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>
    /// Why <paramref name="leaf"/> cannot serve as a device identity even though it chains, or null when it can: it must be an
    /// end-entity certificate (no basicConstraints cA TRUE, RFC 5280 §4.2.1.9), allow digitalSignature when it has keyUsage (the
    /// handshake's CertificateVerify is a signature, §4.2.1.3), and allow clientAuth or anyExtendedKeyUsage when it has
    /// extendedKeyUsage (§4.2.1.12). An extension that cannot be decoded, or appears twice (§4.2), is a reason too.
    /// </summary>
    public static string? CheckDeviceIdentity(X509Certificate2 leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (X509Extension extension in leaf.Extensions)
        {
            string oid = extension.Oid?.Value ?? "";
            if (!seen.Add(oid))
            {
                return $"the client certificate carries extension {oid} more than once (RFC 5280 section 4.2)";
            }

            try
            {
                switch (extension)
                {
                    case X509BasicConstraintsExtension { CertificateAuthority: true }:
                        return "the client certificate is a CA certificate (basicConstraints cA TRUE): a device identity must be an end-entity certificate (RFC 5280 section 4.2.1.9)";
                    case X509KeyUsageExtension usage when (usage.KeyUsages & X509KeyUsageFlags.DigitalSignature) == 0:
                        return $"the client certificate's keyUsage ({usage.KeyUsages}) lacks digitalSignature, which authenticating a (D)TLS client needs (RFC 5280 section 4.2.1.3)";
                    case X509EnhancedKeyUsageExtension eku when !eku.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value is ClientAuthOid or AnyExtendedKeyUsageOid):
                        return "the client certificate's extendedKeyUsage has neither clientAuth nor anyExtendedKeyUsage (RFC 5280 section 4.2.1.12)";
                }
            }
            catch (CryptographicException)
            {
                return $"the client certificate's extension {oid} cannot be decoded";
            }
        }

        return null;
    }

    // The window in which the path that was found stays time-valid. A path the search did not take (this CA's, for a certificate
    // found to chain to a manufacturer) could only differ if one issuer key were certified in both hierarchies; the entry's
    // lifetime bounds that case too.
    private RequesterTrust Remember(IReadOnlyList<X509Certificate2> presented, RequesterTrust trust, IReadOnlyList<X509Certificate2> path, DateTimeOffset now)
    {
        DateTimeOffset notBefore = DateTimeOffset.MinValue;
        DateTimeOffset notAfter = DateTimeOffset.MaxValue;
        foreach (X509Certificate2 certificate in path)
        {
            DateTimeOffset from = new(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
            DateTimeOffset until = new(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            notBefore = from > notBefore ? from : notBefore;
            notAfter = until < notAfter ? until : notAfter;
        }

        _decisions.Add(presented, trust, notBefore, notAfter, now);
        return trust;
    }

    private static bool ChainsTo(IReadOnlyList<X509Certificate2> presented, IEnumerable<X509Certificate2> anchors, IEnumerable<X509Certificate2> extra,
        DateTimeOffset now, bool ignoreTime, [NotNullWhen(true)] out IReadOnlyList<X509Certificate2>? path)
    {
        // A requester's certificate never makes the CA fetch issuers from the network (authority information access).
        var builder = new CertificateChainBuilder(anchors) { IgnoreTimeValidity = ignoreTime, DisableCertificateDownloads = true };
        if (!builder.TryBuild(presented[0], [.. extra, .. presented.Skip(1)], now, out path) || path.Count < 2)
        {
            path = null;
            return false;
        }

        return true;
    }
}
