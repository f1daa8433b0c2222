using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using CoapEnroll.Ca;
using Microsoft.Data.Sqlite;
using static CoapEnroll.Cmp.Tests.Server.CmpServerFixture;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>
/// The CMP server when its store fails in the middle of an enrollment: before the outcome is stored the answer is systemUnavail
/// and a one-time secret is given back for the retry the client is told to make; after it is stored (the certificate exists) the
/// failure is the server's own, systemFailure, not "send a new request", and the certificate nobody will confirm is revoked.
/// </summary>
public sealed class CmpStoreOutageTests
{
    [Fact]
    public async Task WritesFailRightAfterTheSecretIsConsumed_SystemUnavail_AndTheRetryWithTheSameSecretIsIssued()
    {
        await using var f = await CreateAsync();
        await f.Store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "code-9", Secret = Encoding.UTF8.GetBytes("one-time-code-9"), OneTime = true },
            new AuditEntry { Actor = "test", Action = "secret-add", Details = "code-9" }, CancellationToken.None);
        var outage = new Outage { Writes = ["AddIssuedAsync", "TryUpdateTransactionAsync", "CloseTransactionsAsync", "AddRejectedAsync"], After = "TryConsumeSharedSecretAsync" };
        CmpServer server = f.AddNodeOn(Flaky.Wrap(f.Store, outage)).Server;

        (PkiMessage ir, ECDsa k1) = MacIr("code-9", "one-time-code-9", implicitConfirm: true);
        k1.Dispose();
        AssertError(await SendToAsync(server, ir), PkiFailureInfo.SystemUnavail);
        Assert.False((await f.Store.GetSharedSecretAsync("code-9", CancellationToken.None))!.IsConsumed);

        // The store is back; the client sends a new request, as it was told to, with the same one-time secret.
        outage.Down = false;
        outage.After = null;
        (PkiMessage retry, ECDsa k2) = MacIr("code-9", "one-time-code-9", implicitConfirm: true);
        k2.Dispose();
        PkiMessage answer = await SendToAsync(server, retry);
        CertRepMessageBody issued = Assert.IsType<CertRepMessageBody>(answer.Body);
        Assert.Equal((int)PkiStatus.Accepted, Assert.Single(issued.Responses).Status.Status);
        Assert.True((await f.Store.GetSharedSecretAsync("code-9", CancellationToken.None))!.IsConsumed);
    }

    [Fact]
    public async Task TheStoreFailsAfterTheCertificateIsStored_SystemFailure_NotSendANewRequest_AndTheCertificateIsRevoked()
    {
        await using var f = await CreateAsync();
        await f.Store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "dev-9", Secret = Encoding.UTF8.GetBytes("dev-9-secret"), OneTime = false },
            new AuditEntry { Actor = "test", Action = "secret-add", Details = "dev-9" }, CancellationToken.None);
        var outage = new Outage { Writes = ["TryUpdateTransactionAsync"], After = "AddIssuedAsync" };
        CmpServer server = f.AddNodeOn(Flaky.Wrap(f.Store, outage)).Server;

        // Without implicit confirmation the issued certificate's transaction is saved to wait for certConf: that write fails.
        (PkiMessage ir, ECDsa key) = MacIr("dev-9", "dev-9-secret", implicitConfirm: false);
        key.Dispose();
        AssertError(await SendToAsync(server, ir), PkiFailureInfo.SystemFailure);

        // It was never sent, and nothing waits for its certConf: revoked at once, not left valid unconfirmed (RFC 9483 §4.1.1).
        StoredCertificate issued = Assert.Single(await f.Store.ListCertificatesAsync(10, CancellationToken.None));
        Assert.Equal(CertificateStatus.Revoked, issued.Status);
    }

    /// <summary>Which writes fail (SQLITE_BUSY: another process held the database past the busy timeout), from which call on.</summary>
    public sealed class Outage
    {
        public required HashSet<string> Writes { get; init; }

        public string? After { get; set; }

        public bool Down { get; set; }
    }

    public class Flaky : DispatchProxy
    {
        private ICertificateAuthorityStore _inner = null!;
        private Outage _outage = null!;

        public static ICertificateAuthorityStore Wrap(ICertificateAuthorityStore inner, Outage outage)
        {
            ICertificateAuthorityStore proxy = Create<ICertificateAuthorityStore, Flaky>();
            ((Flaky)(object)proxy)._inner = inner;
            ((Flaky)(object)proxy)._outage = outage;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (_outage.Down && _outage.Writes.Contains(targetMethod.Name))
            {
                throw new SqliteException("SQLite Error 5: 'database is locked'.", 5);
            }

            try
            {
                object? result = targetMethod.Invoke(_inner, args);
                if (targetMethod.Name == _outage.After && result is Task task)
                {
                    // The outage starts once the named call has completed.
                    return ContinueAsync(task, targetMethod.ReturnType);
                }

                return result;
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }

        private object ContinueAsync(Task task, Type returnType)
        {
            Task after = task.ContinueWith(_ => _outage.Down = true, TaskScheduler.Default);
            if (returnType.IsGenericType)
            {
                // Task<T>: the same result, once the outage has started.
                MethodInfo then = typeof(Flaky).GetMethod(nameof(ThenAsync), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(returnType.GetGenericArguments()[0]);
                return then.Invoke(null, [task, after])!;
            }

            return Task.WhenAll(task, after);
        }

        private static async Task<T> ThenAsync<T>(Task<T> task, Task after)
        {
            T result = await task;
            await after;
            return result;
        }
    }
}
