using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll ca registrar --subject DN --out RA.pem --key-out RA.key [--days N] [--data DIR]</c>: the operator issues a
/// registrar certificate (RFC 7030 §3.7: extendedKeyUsage id-kp-cmcRA, RFC 6402 §2.10, and clientAuth) from the local CA, recorded
/// in DIR/coapenroll.db. This CA trusts its own registrar certificates unless <c>Ca:TrustRegistrarsOfThisCa=false</c>; a registrar
/// node uses the files as <c>--upstream-cert</c>/<c>--upstream-key</c>.
/// </summary>
internal static class CaCommand
{
    public static Command Create()
    {
        var ca = new Command("ca", "Operate the local CA.");
        ca.Subcommands.Add(BuildRegistrar());
        return ca;
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
}
