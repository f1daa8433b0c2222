using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll ca registrar --subject DN --out RA.pem --key-out RA.key [--days N] [--data DIR]</c>: the operator issues a
/// registrar certificate (RFC 7030 §3.7: extendedKeyUsage id-kp-cmcRA, RFC 6402 §2.10, and clientAuth) from the local CA, recorded
/// in DIR/coapenroll.db. This CA trusts its own registrar certificates unless <c>Ca:TrustRegistrarsOfThisCa=false</c>; a registrar
/// node uses the files as <c>--upstream-cert</c>/<c>--upstream-key</c>.
/// <c>coapenroll ca rollover [--data DIR]</c>: root CA key rollover (RFC 9810 §4.4, <see cref="CaRootRollover"/>), audited.
/// <c>coapenroll ca init [--data DIR] [--csr-out FILE --subject DN]</c>: creates the CA in DIR as a first start does; with
/// <c>Ca:KeyProvider=Pkcs11</c> the issuing key is generated on the token (or the one there is used) and DIR/ca/issuing.pem is
/// issued for it by the demo root, or a CSR for an external root is written instead.
/// </summary>
internal static class CaCommand
{
    public static Command Create()
    {
        var ca = new Command("ca", "Operate the local CA.");
        ca.Subcommands.Add(BuildInit());
        ca.Subcommands.Add(BuildRegistrar());
        ca.Subcommands.Add(BuildRollover());
        return ca;
    }

    private static Command BuildInit()
    {
        var data = RequestsCommand.DataOption();
        var csrOut = new Option<string?>("--csr-out")
        {
            Description = "Instead of issuing the issuing CA under the demo root, write a PKCS#10 request (PEM) for the token's key, for an external root to sign",
            HelpName = "FILE",
        };
        var subject = new Option<string>("--subject")
        {
            Description = "The issuing CA's subject for --csr-out, in RFC 4514 form",
            HelpName = "DN",
            DefaultValueFactory = _ => "CN=CoapEnroll Issuing CA,O=CoapEnroll",
        };
        var command = new Command("init",
            "Create the CA in DIR as the first start of serve does. With --Ca:KeyProvider=Pkcs11 and the Ca:Pkcs11 settings, the issuing key is generated on the token "
            + "(not extractable, sensitive) unless it has one with Ca:Pkcs11:KeyLabel/KeyId, and DIR/ca/issuing.pem is issued for it, with no key file beside it.")
        {
            data, csrOut, subject,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "ca init");
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            using IHost host = ServeHost.BuildOffline(parseResult.GetValue(data), parseResult.UnmatchedTokens);
            await using CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
            try
            {
                if (parseResult.GetValue(csrOut) is { } csrFile)
                {
                    X500DistinguishedName name = EstCommand.ParseSubject(parseResult.GetValue(subject)!);
                    ICaKeyProvider provider = certification.CreateKeyProvider()
                        ?? throw new CliException(ExitCodes.Usage, "--csr-out is for a key on a token: set --Ca:KeyProvider=Pkcs11 and the Ca:Pkcs11 settings.");
                    using CaSigningKey key = await provider.OpenAsync(createIfMissing: true, cancellationToken);
                    byte[] csr;
                    using (CaSigningLease lease = await key.AcquireAsync(cancellationToken))
                    {
                        (X509SignatureGenerator generator, HashAlgorithmName hash) = CertificateFactory.SignerFor(lease.Key, lease.RsaPadding);
                        var request = new CertificateRequest(name, key.PublicKey, hash);
                        foreach (X509Extension extension in CertificateFactory.SubordinateCaExtensions(0))
                        {
                            request.CertificateExtensions.Add(extension);
                        }

                        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(key.PublicKey, critical: false));
                        csr = request.CreateSigningRequest(generator);
                    }

                    await EstCommand.WriteTextAsync(csrFile, PemEncoding.WriteString("CERTIFICATE REQUEST", csr) + "\n", ownerOnly: false, cancellationToken);
                    await stdout.WriteLineAsync($"Wrote the issuing CA's request for {key.Description} to {csrFile}. Once the root has signed it, set "
                        + "Ca:CertificateFile (the issued certificate, then any intermediates) and Ca:TrustAnchorFile (the root) with the same Ca:KeyProvider and Ca:Pkcs11 settings.");
                    return ExitCodes.Success;
                }

                CaHierarchy hierarchy = await certification.InitializeCaAsync(cancellationToken);
                await stdout.WriteLineAsync($"Issuing CA {RequestsCommand.Cell(hierarchy.IssuingCa.Subject)} (key: {hierarchy.IssuingKey.Description}) in "
                    + $"{hierarchy.Layout.IssuingCertificate}; trust anchor {hierarchy.Layout.TrustAnchor}. Start the server with the same settings: "
                    + HowToInvoke.Command("serve", "--data", certification.DataDirectory));
                return ExitCodes.Success;
            }
            catch (CaConfigurationException ex)
            {
                // As serve: a module or token that is not there may come back (1); a setting, a file or a PIN is the operator's to
                // change (2).
                throw new CliException(ex.Problem == CaConfigurationProblem.TokenUnavailable ? ExitCodes.Failure : ExitCodes.Usage, $"ca init: {ex.Message}", ex);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // As serve: a data directory that cannot be made or written (it crashed with a stack trace before).
                throw new CliException(ExitCodes.Failure, $"ca init: cannot write the CA to {certification.DataDirectory}: {ex.Message}", ex);
            }
        });
        return command;
    }

    private static Command BuildRegistrar()
    {
        var data = RequestsCommand.DataOption();
        var subject = new Option<string>("--subject") { Description = "The registrar's subject in RFC 4514 form (e.g. CN=edge-1,O=Example)", HelpName = "DN", Required = true };
        var output = new Option<string>("--out") { Description = "Write the certificate, followed by the issuing CA and intermediates, as PEM", HelpName = "FILE", Required = true };
        var keyOut = new Option<string>("--key-out") { Description = "Write the new P-256 key (PKCS#8 PEM, owner-only)", HelpName = "FILE", Required = true };
        var days = new Option<int>("--days") { Description = "Validity in days (1..36500)", HelpName = "N", DefaultValueFactory = _ => 365 };
        var command = new Command("registrar", "Issue a registrar (RA) certificate: extendedKeyUsage id-kp-cmcRA and clientAuth, from the local CA.")
        {
            data, subject, output, keyOut, days,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "ca registrar");
            X500DistinguishedName name = EstCommand.ParseSubject(parseResult.GetValue(subject)!);
            int validity = parseResult.GetValue(days);
            if (validity is < 1 or > 36500)
            {
                throw new CliException(ExitCodes.Usage, $"--days {validity.ToString(CultureInfo.InvariantCulture)} is outside 1..36500.");
            }

            string certificateFile = parseResult.GetValue(output)!;
            string keyFile = parseResult.GetValue(keyOut)!;
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            return await RequestsCommand.WithAuthorityAsync(parseResult, data, async (authority, layout) =>
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                byte[] csr = new CertificateRequest(name, key, HashAlgorithmName.SHA256).CreateSigningRequest();
                IssuanceResult result = await authority.IssueRegistrarCertificateAsync(csr, $"operator:{Environment.UserName}", validity, cancellationToken);
                if (result.Status != IssuanceStatus.Issued)
                {
                    throw new CliException(ExitCodes.Failure, $"The CA refused the registrar certificate: {result.Reason}: {result.Detail}");
                }

                // The key first: a certificate without its key is useless, a key without its certificate is just removed.
                await EstCommand.WritePrivateKeyAsync(keyFile, key.ExportPkcs8PrivateKey(), cancellationToken);
                var pem = new StringBuilder(result.Certificate!.ExportCertificatePem()).Append('\n');
                foreach (X509Certificate2 ca in result.Chain)
                {
                    pem.Append(ca.ExportCertificatePem()).Append('\n');
                }

                await EstCommand.WriteTextAsync(certificateFile, pem.ToString(), ownerOnly: false, cancellationToken);
                await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"Issued registrar certificate {result.Certificate.SerialNumber} ({RequestsCommand.Cell(result.Certificate.Subject)}, id-kp-cmcRA, valid until "
                    + $"{result.Certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC) to {certificateFile}, key to {keyFile}. Trust anchor: {layout.TrustAnchor}"));
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    private static Command BuildRollover()
    {
        var data = RequestsCommand.DataOption();
        var command = new Command("rollover",
            "Root CA key rollover (RFC 9810 §4.4): a new root key, the new self-signed root (newWithNew) and the link certificates newWithOld and "
            + "oldWithNew in DIR/ca. The old root stays the trust anchor until it expires; a running serve picks the update up within seconds and announces it to CMP observers.")
        {
            data,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "ca rollover");
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            using IHost host = ServeHost.BuildOffline(parseResult.GetValue(data), parseResult.UnmatchedTokens);
            await using CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
            CaDataLayout layout = certification.Layout;
            if ((certification.StoreIsDatabaseFile && !File.Exists(layout.Database)) || !File.Exists(layout.TrustAnchor))
            {
                throw new CliException(ExitCodes.Usage,
                    $"No CA in '{certification.DataDirectory}' (expected {layout.TrustAnchor} and {layout.Database}); start the server there first: {HowToInvoke.Command("serve", "--data", certification.DataDirectory)}");
            }

            RootCaKeyUpdate update;
            try
            {
                update = await certification.RollOverRootCaAsync($"operator:{Environment.UserName}", cancellationToken);
            }
            catch (CaConfigurationException ex)
            {
                throw new CliException(ExitCodes.Failure, $"Root CA key rollover refused: {ex.Message}", ex);
            }

            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"New root CA {RequestsCommand.Cell(update.NewWithNew.Subject)} (serial {update.NewWithNew.SerialNumber}, valid until "
                + $"{update.NewWithNew.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC): newWithNew {layout.NewWithNew}, newWithOld {layout.NewWithOld}, "
                + $"oldWithNew {layout.OldWithNew}, key {layout.NewRootKey}. The old root {layout.TrustAnchor} stays the trust anchor until "
                + $"{update.OldWithOld.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC; a running serve offers the update to CMP clients (genm rootCaCert, ckuann to observers) within Cmp:AnnouncementInterval, or at its next start with Cmp:Announcements=false."));
            return ExitCodes.Success;
        });
        return command;
    }
}
