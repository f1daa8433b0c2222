using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Hosting;

/// <summary>
/// Root CA key rollover (RFC 9810 §4.4) of the CA's own root in DIR/ca: a new root key of the old one's type and size, the new
/// self-signed root (newWithNew, same name) and the link certificates newWithOld and oldWithNew, written to DIR/ca/new-root.key,
/// new-with-old.pem, old-with-new.pem and new-with-new.pem (last, so that its presence marks a complete rollover). Nothing else
/// changes: DIR/trust-anchor.pem keeps the old root, which stays the trust anchor until it expires, and the issuing CA keeps issuing
/// under it. A server picks the update up when it starts (<see cref="CaBootstrap"/>), or while it runs with CMP announcements on
/// (<see cref="CertificationServices.RefreshRootCaKeyUpdateAsync"/>), and offers it to CMP clients (genm rootCaCert, ckuann). One rollover at a time: a second is refused while the files of the first exist.
/// </summary>
public static class CaRootRollover
{
    /// <exception cref="CaConfigurationException">An operator CA (Ca:CertificateFile), the root key missing or undecryptable, or a rollover already made.</exception>
    public static async Task<RootCaKeyUpdate> RollOverAsync(CaOptions options, TimeProvider? timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        timeProvider ??= TimeProvider.System;
        if (options.CertificateFile is not null)
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting,
                "root CA key rollover is for the CA's own root in DIR/ca; with Ca:CertificateFile the root is the operator's");
        }

        var layout = new CaDataLayout(options.DataDirectory);
        if (File.Exists(layout.NewWithNew))
        {
            throw new CaConfigurationException(layout.NewWithNew, CaConfigurationProblem.InvalidSetting, "a root CA key update exists already; one rollover at a time");
        }

        if (!File.Exists(layout.RootKey))
        {
            throw new CaConfigurationException(layout.RootKey, CaConfigurationProblem.FileMissing, "the root key is needed to sign newWithOld (restore it from offline storage)");
        }

        string? passphrase = CaBootstrap.ResolvePassphrase(options);
        X509Certificate2 root = (await CaCredentialFiles.LoadCertificatesAsync(layout.TrustAnchor, cancellationToken))[0];
        using AsymmetricAlgorithm rootKey = await CaCredentialFiles.LoadPrivateKeyAsync(layout.RootKey, passphrase, cancellationToken);
        using X509Certificate2 rootWithKey = CaCredentialFiles.AttachKey(root, rootKey, layout.TrustAnchor, layout.RootKey);
        using AsymmetricAlgorithm newKey = rootKey switch
        {
            ECDsa ec => ECDsa.Create(ec.ExportParameters(false).Curve),
            RSA rsa => RSA.Create(rsa.KeySize),
            _ => throw new CaConfigurationException(layout.RootKey, CaConfigurationProblem.InvalidPem, $"root key type {rootKey.GetType().Name} is not supported"),
        };
        RootCaKeyUpdate update = RootCaKeyUpdate.Create(rootWithKey, newKey, timeProvider.GetUtcNow());
        await CaCredentialFiles.WritePrivateKeyAsync(layout.NewRootKey, newKey, passphrase, cancellationToken);
        await CaCredentialFiles.WriteCertificatesAsync(layout.NewWithOld, [update.NewWithOld], cancellationToken);
        await CaCredentialFiles.WriteCertificatesAsync(layout.OldWithNew, [update.OldWithNew], cancellationToken);
        await CaCredentialFiles.WriteCertificatesAsync(layout.NewWithNew, [update.NewWithNew], cancellationToken);
        return update;
    }
}
