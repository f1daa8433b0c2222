using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// Closing an EST-coaps client (its CoAP endpoint and DTLS session) is on the path of every enrollment a client makes (the CLI,
/// the bench's load generator): it must throw and catch no exception, while a caller's cancellation still surfaces.
/// </summary>
public sealed class EstClientCloseTests
{
    [Fact]
    public async Task Close_after_requests_throws_no_exception()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        using var recorder = new FirstChanceExceptionRecorder();

        // Several sessions: the very first close in a process was seen not to throw on the old code either.
        for (int session = 0; session < 3; session++)
        {
            EstCoapsClient client = await est.ClientAsync();
            X509Certificate2Collection authorities = await client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout());
            Assert.NotEmpty(authorities);
            if (session == 0)
            {
                using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                using X509Certificate2 issued = await client.EnrollAsync(new X500DistinguishedName("CN=close-test"), key, cancellationToken: EstFixture.Timeout());
                Assert.Equal("CN=close-test", issued.Subject);
            }

            recorder.Start();
            await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            recorder.Stop();
        }

        Assert.True(recorder.Exceptions.Count == 0, $"{recorder.Exceptions.Count} exception(s) on close:\n{recorder.Describe()}");
    }

    [Fact]
    public async Task A_callers_cancellation_still_surfaces_and_the_client_closes_after_it()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        EstCoapsClient client = await est.ClientAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetCaCertificatesAsync(cancellationToken: cancelled.Token));

        Assert.NotEmpty(await client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout()));
        await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<ObjectDisposedException>(() => client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout()));
    }
}
