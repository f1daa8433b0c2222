using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// The CA on its own, given every malformed or unusual request of <see cref="CsrCorpus"/>: never an exception, each refusal with its
/// own reason and stored as a rejected request; the unusual but valid ones issued.
/// </summary>
public sealed class CsrCorpusTests
{
    [Fact]
    public async Task Every_malformed_or_unusual_request_is_refused_with_its_reason_and_stored()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        IReadOnlyList<CsrCase> corpus = await CsrCorpus.RefusedAsync(ca.Directory.Path);
        var failures = new List<string>();
        foreach (CsrCase item in corpus)
        {
            IssuanceResult result;
            try
            {
                result = await ca.Authority.IssueAsync(TestCa.Request(item.Der), CancellationToken.None);
            }
            catch (Exception ex)
            {
                failures.Add($"{item.Name}: threw {ex.GetType().Name}: {ex.Message}");
                continue;
            }

            if (result.Status != IssuanceStatus.Rejected || result.Reason.ToString() != item.Reason || !(result.Detail ?? "").Contains(item.Detail, StringComparison.Ordinal))
            {
                failures.Add($"{item.Name}: {result.Status} {result.Reason} '{result.Detail}', expected {item.Reason} '{item.Detail}'");
                continue;
            }

            StoredRequest? stored = result.RequestId is { } id ? await ca.Store.GetRequestAsync(id, CancellationToken.None) : null;
            if (stored is not { Status: RequestStatus.Rejected } || stored.RejectionReason != result.Reason || !stored.CsrDer.AsSpan().SequenceEqual(item.Der))
            {
                failures.Add($"{item.Name}: not stored as a rejected request with its CSR");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Empty(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));
        Assert.True(corpus.Count > 90, $"the corpus has {corpus.Count} requests");
    }

    [Fact]
    public async Task Unusual_but_valid_requests_are_issued()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        foreach ((string name, byte[] der) in CsrCorpus.Accepted())
        {
            IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(der), CancellationToken.None);
            Assert.True(result.Status == IssuanceStatus.Issued, $"{name}: {result.Status} {result.Reason} {result.Detail}");
            using X509Certificate2 certificate = result.Certificate!;
            Assert.Equal(CertificateStatus.Active, (await ca.Store.GetCertificateAsync(certificate.SerialNumber, CancellationToken.None))!.Status);
        }
    }
}
