using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix;

/// <summary>
/// Builds and validates certification paths (RFC 5280 §6) to the trust anchors it is given and to no others: the platform's
/// root store is never consulted (custom root trust). Time validity is checked at the time each call names. Certificates passed
/// per call (a peer's chain, locally configured intermediates, those carried in a CMS message) only help to find the path.
/// </summary>
/// <remarks>
/// The policy is the project's for every PKI decision: no revocation checking (<see cref="RevocationMode"/>), no application policy
/// (<see cref="ApplicationPolicy"/>), time validity enforced (<see cref="IgnoreTimeValidity"/>). <see cref="DisableCertificateDownloads"/>
/// follows the platform's default (downloads allowed) unless set. An instance is immutable once built and may be shared.
/// </remarks>
public sealed class CertificateChainBuilder
{
    private readonly X509Certificate2[] _trustAnchors;

    /// <summary>A builder that trusts <paramref name="trustAnchors"/> only.</summary>
    public CertificateChainBuilder(IEnumerable<X509Certificate2> trustAnchors)
    {
        ArgumentNullException.ThrowIfNull(trustAnchors);
        _trustAnchors = trustAnchors.ToArray();
    }

    /// <summary>The certificates that end a valid path.</summary>
    public IReadOnlyList<X509Certificate2> TrustAnchors => _trustAnchors;

    /// <summary>Revocation checking; <see cref="X509RevocationMode.NoCheck"/> unless configured.</summary>
    public X509RevocationMode RevocationMode { get; init; } = X509RevocationMode.NoCheck;

    /// <summary>When true, certificates outside their validity period still form a valid path (<see cref="X509VerificationFlags.IgnoreNotTimeValid"/>).</summary>
    public bool IgnoreTimeValidity { get; init; }

    /// <summary>An extended key usage OID every certificate of the path must allow (e.g. id-kp-clientAuth), or null for none.</summary>
    public string? ApplicationPolicy { get; init; }

    /// <summary>When true, missing issuers are never fetched from the URLs certificates name (authority information access).</summary>
    public bool DisableCertificateDownloads { get; init; }

    /// <summary>
    /// An <see cref="X509Chain"/> set up with this policy, <paramref name="untrusted"/> as path-building helpers (in that order) and
    /// <paramref name="verificationTime"/>, for callers that read <see cref="X509Chain.ChainStatus"/> or the elements themselves. The caller
    /// builds it and disposes it; <see cref="X509Chain.Build"/> may throw <see cref="CryptographicException"/>.
    /// </summary>
    public X509Chain CreateChain(IEnumerable<X509Certificate2> untrusted, DateTimeOffset verificationTime)
    {
        ArgumentNullException.ThrowIfNull(untrusted);
        var chain = new X509Chain();
        X509ChainPolicy policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(_trustAnchors);
        policy.ExtraStore.AddRange(untrusted.ToArray());
        policy.RevocationMode = RevocationMode;
        if (DisableCertificateDownloads)
        {
            policy.DisableCertificateDownloads = true;
        }

        policy.VerificationTime = verificationTime.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        if (IgnoreTimeValidity)
        {
            policy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        }

        if (ApplicationPolicy is not null)
        {
            policy.ApplicationPolicy.Add(new Oid(ApplicationPolicy));
        }

        return chain;
    }

    /// <summary>Whether <paramref name="certificate"/> has a valid path to a trust anchor; a platform failure counts as no path.</summary>
    public bool TryBuild(X509Certificate2 certificate, IEnumerable<X509Certificate2> untrusted, DateTimeOffset verificationTime) =>
        TryBuild(certificate, untrusted, verificationTime, out _);

    /// <summary>
    /// Whether <paramref name="certificate"/> has a valid path to a trust anchor, and that path: <paramref name="certificate"/> first, the
    /// trust anchor last. A platform failure (<see cref="CryptographicException"/>) counts as no path.
    /// </summary>
    public bool TryBuild(X509Certificate2 certificate, IEnumerable<X509Certificate2> untrusted, DateTimeOffset verificationTime,
        [NotNullWhen(true)] out IReadOnlyList<X509Certificate2>? path)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        path = null;
        using X509Chain chain = CreateChain(untrusted, verificationTime);
        try
        {
            if (!chain.Build(certificate))
            {
                return false;
            }

            var elements = new X509Certificate2[chain.ChainElements.Count];
            for (int i = 0; i < elements.Length; i++)
            {
                elements[i] = chain.ChainElements[i].Certificate;
            }

            path = elements;
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
