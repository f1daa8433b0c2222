using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// Every request of <see cref="CsrCorpus"/> from an authenticated device, through the enrollment service as a front end drives
/// it (decode, then authorize and issue, or record the decoding failure): never an exception, each refused with its own reason
/// and stored as a rejected request with the CSR as received, nothing issued. The unusual but valid ones are issued.
/// </summary>
public sealed class MalformedRequestTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("coapenroll-corpus-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Every_malformed_or_unusual_request_is_refused_with_its_reason_and_stored()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        var failures = new List<string>();
        foreach (CsrCase item in await CsrCorpus.RefusedAsync(_scratch))
        {
            EnrollmentOutcome outcome;
            try
            {
                outcome = await SubmitAsync(f, requester, item.Der, EnrollmentOperation.Enroll);
            }
            catch (Exception ex)
            {
                failures.Add($"{item.Name}: threw {ex.GetType().Name}: {ex.Message}");
                continue;
            }

            using (outcome)
            {
                if (outcome.Status != EnrollmentStatus.Refused || outcome.Reason.ToString() != item.Reason || !(outcome.Detail ?? "").Contains(item.Detail, StringComparison.Ordinal))
                {
                    failures.Add($"{item.Name}: {outcome.Status} {outcome.Reason} '{outcome.Detail}', expected {item.Reason} '{item.Detail}'");
                    continue;
                }

                StoredRequest? stored = outcome.RequestId is { } id ? await f.Store.GetRequestAsync(id, CancellationToken.None) : null;
                if (stored is not { Status: RequestStatus.Rejected } || stored.RejectionReason != outcome.Reason || !stored.CsrDer.AsSpan().SequenceEqual(item.Der)
                    || stored.Requester != requester.Name)
                {
                    failures.Add($"{item.Name}: not stored as the device's rejected request with its CSR");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Empty(await f.Store.ListCertificatesAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task Server_key_generation_never_throws_on_the_corpus_and_stores_every_refusal()
    {
        // RFC 9148 §4.8: the request's key and signature are ignored, so some of these are issued (with the server's key); the rest
        // are refused for their subject or extensions. Either way there is an answer, and a refusal is stored.
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        var failures = new List<string>();
        foreach (CsrCase item in await CsrCorpus.RefusedAsync(_scratch))
        {
            try
            {
                using EnrollmentOutcome outcome = await SubmitAsync(f, requester, item.Der, EnrollmentOperation.ServerKeyGeneration);
                if (outcome.Status == EnrollmentStatus.Refused && (outcome.RequestId is null || await f.Store.GetRequestAsync(outcome.RequestId.Value, CancellationToken.None) is not { Status: RequestStatus.Rejected }))
                {
                    failures.Add($"{item.Name}: refused ({outcome.Reason}) but not stored");
                }
                else if (outcome.Status == EnrollmentStatus.Issued && !outcome.GeneratedKey!.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(outcome.Certificate!.PublicKey.ExportSubjectPublicKeyInfo()))
                {
                    failures.Add($"{item.Name}: issued for a key other than the generated one");
                }
            }
            catch (Exception ex)
            {
                failures.Add($"{item.Name}: threw {ex.GetType().Name}: {ex.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public async Task Unusual_but_valid_requests_are_issued()
    {
        // The strings here are the point, not whose they are: the accepted forms carry attributes the demo device's certificate
        // lacks, which the default profile refuses as not bound to the requester (NameTests), so this profile issues any name.
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(configureCa: ca => ca.Profiles = new() { ["default"] = new CertificateProfileOptions { NamePolicy = NamePolicy.AnyName } });
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        foreach ((string name, byte[] der) in CsrCorpus.Accepted())
        {
            using EnrollmentOutcome outcome = await SubmitAsync(f, requester, der, EnrollmentOperation.Enroll);
            Assert.True(outcome.Status == EnrollmentStatus.Issued, $"{name}: {outcome.Status} {outcome.Reason} {outcome.Detail}");
        }
    }

    // What a front end does with the bytes it received: decode them once, refuse (and record) what does not decode, and hand the
    // rest to the service, as EstCoapsServer does.
    private static async Task<EnrollmentOutcome> SubmitAsync(EnrollmentFixture f, Requester requester, byte[] der, EnrollmentOperation operation)
    {
        string name = operation == EnrollmentOperation.Enroll ? "sen" : "skg";
        switch (CertificationRequest.DecodePkcs10(der, out CertificationRequest? request, out string? detail))
        {
            case CertificationRequestDecodeStatus.Decoded:
                return await f.Service.EnrollAsync(new EnrollmentRequest { Requester = requester, Operation = operation, OperationName = name, Request = request! },
                    CancellationToken.None);
            case CertificationRequestDecodeStatus.TrailingData:
                return await f.Service.RefuseAsync(requester, operation, name, null, der, RejectionReason.MalformedRequest, "data follows the PKCS#10 request", CancellationToken.None);
            default:
                return await f.Service.RefuseAsync(requester, operation, name, null, der, RejectionReason.MalformedRequest,
                    "the PKCS#10 request cannot be decoded: " + detail, CancellationToken.None);
        }
    }
}
