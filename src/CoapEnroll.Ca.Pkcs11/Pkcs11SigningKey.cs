using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using Microsoft.Extensions.Logging;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace CoapEnroll.Ca.Pkcs11;

/// <summary>
/// The issuing CA key on a PKCS#11 token. One session stays open and logged in (C_Login applies to every session of the process,
/// PKCS#11 v2.40 section 5.6); signatures run on a bounded pool of further sessions, one per concurrent signer, so that concurrent
/// issuances do not wait for each other more than <see cref="Pkcs11KeyOptions.MaxSessions"/> requires. When the token or a session is
/// lost, the signature fails with <see cref="CaKeyUnavailableException"/> and the next one reconnects (at most one attempt a second).
/// </summary>
internal sealed class Pkcs11SigningKey : CaSigningKey
{
    // The third reconnection attempt in a row (after two that failed), and every third after, first initializes the module
    // again (Pkcs11Module.TryReinitialize).
    private const int ReinitializeEvery = 3;

    private static readonly TimeSpan s_reconnectInterval = TimeSpan.FromSeconds(1);

    // After the token answered without this key (missing, or another one under its label): it may be being restored or swapped.
    private static readonly TimeSpan s_keyMissingInterval = TimeSpan.FromMinutes(1);
    private volatile bool _reconnectHeld; // tests only: LoseTokenUntilReleased

    private readonly Pkcs11Module _module;
    private readonly Pkcs11KeyOptions _options;
    // Kept for reconnecting after the token was lost (a new login); never logged, never in a message.
    private readonly string _pin;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _sessions;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly PublicKey _publicKey;
    private readonly ECParameters? _ecPublic;
    private readonly RSAParameters? _rsaPublic;
    private readonly RSASignaturePadding _padding;
    private Connection? _connection;
    private DateTimeOffset _lastAttempt;
    private int _attemptsInARow;
    private TimeSpan _reconnectInterval = s_reconnectInterval;
    private string? _gaveUp;
    private bool _disposed;

    private Pkcs11SigningKey(Pkcs11Module module, Pkcs11KeyOptions options, string pin, ILogger logger, TimeProvider time, Connection connection, AsymmetricAlgorithm publicKey)
    {
        _module = module;
        _options = options;
        _pin = pin;
        _logger = logger;
        _time = time;
        _sessions = new SemaphoreSlim(options.MaxSessions, options.MaxSessions);
        _connection = connection;
        _publicKey = publicKey switch
        {
            ECDsa ec => new PublicKey(ec),
            RSA rsa => new PublicKey(rsa),
            _ => throw new ArgumentException("EC or RSA expected", nameof(publicKey)),
        };
        _ecPublic = publicKey is ECDsa e ? e.ExportParameters(false) : null;
        _rsaPublic = publicKey is RSA r ? r.ExportParameters(false) : null;
        _padding = options.RsaPadding == Pkcs11RsaPadding.Pss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
    }

    public override PublicKey PublicKey => _publicKey;

    public override RSASignaturePadding RsaPadding => _padding;

    public override string Description => $"PKCS#11 {_options.KeyDescription} on {_options.TokenDescription} ({_module.Path})";

    /// <summary>Whether the key is EC (else RSA).</summary>
    public bool IsEc => _ecPublic is not null;

    /// <summary>
    /// Opens the key: loads the module, finds the token, logs in, finds the key (or, with <paramref name="createIfMissing"/>,
    /// generates it) and reads its public half.
    /// </summary>
    /// <exception cref="CaConfigurationException">The module, token, PIN or key is wrong or missing.</exception>
    public static Pkcs11SigningKey Open(Pkcs11KeyOptions options, bool createIfMissing, ILogger logger, TimeProvider time)
    {
        options.Validate();
        string pin = options.ReadPin();
        Pkcs11Module module = Pkcs11Module.Acquire(options.Module!);
        try
        {
            (Connection connection, AsymmetricAlgorithm publicKey) = Connect(module, options, pin, createIfMissing, logger);
            using (publicKey)
            {
                var key = new Pkcs11SigningKey(module, options, pin, logger, time, connection, publicKey);
                Pkcs11Log.Opened(logger, options.KeyDescription, options.TokenDescription, key.KeyTypeName, options.MaxSessions);
                return key;
            }
        }
        catch
        {
            module.Release();
            throw;
        }
    }

    private string KeyTypeName => _ecPublic is { } ec ? $"ECDSA {ec.Curve.Oid.FriendlyName}" : $"RSA {_rsaPublic!.Value.Modulus!.Length * 8} bits {_options.RsaPadding}";

    public override async ValueTask<CaSigningLease> AcquireAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _sessions.WaitAsync(cancellationToken);
        try
        {
            Connection connection = await ConnectedAsync(cancellationToken);
            if (!connection.Idle.TryTake(out ISession? session))
            {
                try
                {
                    session = connection.Slot.OpenSession(SessionType.ReadOnly);
                }
                catch (Pkcs11Exception ex) when (ex.RV is CKR.CKR_SESSION_COUNT or CKR.CKR_DEVICE_MEMORY or CKR.CKR_HOST_MEMORY)
                {
                    // The token is there but takes no more sessions now: not a loss, so the others keep theirs.
                    throw new CaKeyUnavailableException($"{_options.TokenDescription} opens no more sessions ({ex.RV}); lower {Pkcs11KeyOptions.SectionName}:MaxSessions", ex);
                }
                catch (Pkcs11Exception ex) when (Pkcs11Token.MeansLost(ex.RV))
                {
                    throw Lost(connection, ex);
                }
            }

            AsymmetricAlgorithm key = _ecPublic is { } ec
                ? new Pkcs11EcdsaKey(hash => Sign(connection, session, Pkcs11Module.Factories.MechanismFactory.Create(CKM.CKM_ECDSA), hash), ec)
                : new Pkcs11RsaKey((hash, name, padding) =>
                {
                    (IMechanism mechanism, byte[] data) = Pkcs11Mechanisms.ForRsa(hash, name, padding);
                    return Sign(connection, session, mechanism, data);
                }, _rsaPublic!.Value);
            return new CaSigningLease(key, _padding, () =>
            {
                key.Dispose();
                Return(connection, session);
            });
        }
        catch
        {
            _sessions.Release();
            throw;
        }
    }

    /// <summary>Closes every session of the token under this key, as a token removal would (tests of the reconnect).</summary>
    internal void CloseAllSessionsOfTheToken() => _connection?.Slot.CloseAllSessions();

    /// <summary>
    /// Closes every session of the token and holds the key lost until <see cref="ReleaseReconnect"/> (tests of a server's answer
    /// while the token is gone). After <see cref="CloseAllSessionsOfTheToken"/> alone, whichever signature comes next notices the
    /// loss, and when that is a background one (a CRL for an announcement) the request under test reconnects and is served.
    /// </summary>
    internal void LoseTokenUntilReleased()
    {
        _reconnectHeld = true;
        if (_connection is { } connection)
        {
            lock (connection)
            {
                connection.Lost = true;
            }

            connection.Slot.CloseAllSessions();
            Close(connection);
        }
    }

    /// <summary>Ends <see cref="LoseTokenUntilReleased"/>: the next signature reconnects.</summary>
    internal void ReleaseReconnect() => _reconnectHeld = false;

    /// <inheritdoc/>
    public override bool IsAvailable => _connection is { Lost: false };

    /// <summary>Reads attributes of the private key (tests: CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_VALUE).</summary>
    internal List<IObjectAttribute> ReadPrivateKeyAttributes(List<CKA> attributes)
    {
        Connection connection = _connection ?? throw new InvalidOperationException("not connected");
        return connection.LoginSession.GetAttributeValue(connection.Key, attributes);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            // Under the gate, so that no reconnection (which may finalize and load the module again) runs while the sessions are
            // closed and the module let go; ConnectedAsync refuses once this is set.
            _connectGate.Wait();
            try
            {
                if (_disposed)
                {
                    // Another Dispose went first while this one waited.
                    return;
                }

                _disposed = true;
                if (Interlocked.Exchange(ref _connection, null) is { } connection)
                {
                    Close(connection);
                }

                _module.Release();
            }
            finally
            {
                _connectGate.Release();
            }
        }

        base.Dispose(disposing);
    }

    private byte[] Sign(Connection connection, ISession session, IMechanism mechanism, byte[] data)
    {
        using (mechanism)
        {
            try
            {
                return session.Sign(mechanism, connection.Key, data);
            }
            catch (Pkcs11Exception ex) when (Pkcs11Token.MeansLost(ex.RV))
            {
                throw Lost(connection, ex);
            }
            catch (Pkcs11Exception ex)
            {
                throw new CryptographicException($"{_options.TokenDescription} did not sign with {_options.KeyDescription}: {ex.RV}", ex);
            }
        }
    }

    private void Return(Connection connection, ISession session)
    {
        try
        {
            if (connection.Lost || _disposed)
            {
                CloseQuietly(session);
            }
            else
            {
                connection.Idle.Add(session);
            }
        }
        finally
        {
            _sessions.Release();
        }
    }

    private async ValueTask<Connection> ConnectedAsync(CancellationToken cancellationToken)
    {
        if (_connection is { Lost: false } current)
        {
            return current;
        }

        await _connectGate.WaitAsync(cancellationToken);
        try
        {
            if (_connection is { Lost: false } again)
            {
                return again;
            }

            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_gaveUp is { } reason)
            {
                throw new CaKeyUnavailableException($"{Description} is unavailable and not tried again until the server restarts: {reason}");
            }

            DateTimeOffset now = _time.GetUtcNow();
            if (_reconnectHeld || now - _lastAttempt < _reconnectInterval)
            {
                throw new CaKeyUnavailableException($"{Description} is unavailable; reconnecting");
            }

            _lastAttempt = now;
            try
            {
                if (++_attemptsInARow % ReinitializeEvery == 0
                    && _module.TryReinitialize(idle: _sessions.CurrentCount == _options.MaxSessions - 1))
                {
                    Pkcs11Log.Reinitialized(_logger, _module.Path, _attemptsInARow - 1);
                }

                (Connection connection, AsymmetricAlgorithm publicKey) = Connect(_module, _options, _pin, createIfMissing: false, _logger);
                using (publicKey)
                {
                    PublicKey found = publicKey is ECDsa ec ? new PublicKey(ec) : new PublicKey((RSA)publicKey);
                    if (!found.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(_publicKey.ExportSubjectPublicKeyInfo()))
                    {
                        Close(connection);
                        throw new CaConfigurationException(null, CaConfigurationProblem.KeyMismatch, $"{_options.KeyDescription} on {_options.TokenDescription} is another key than before");
                    }
                }

                _connection = connection;
                _attemptsInARow = 0;
                _reconnectInterval = s_reconnectInterval;
                Pkcs11Log.Reconnected(_logger, _options.TokenDescription, _options.KeyDescription);
                return connection;
            }
            catch (CaConfigurationException ex) when (ex.Problem is CaConfigurationProblem.WrongPin)
            {
                // The token answers but refuses the PIN: another attempt every second (every request, every readiness probe) would
                // lock the user PIN after a few, so there is none until an operator restarts serve.
                _gaveUp = ex.Message;
                Pkcs11Log.GaveUp(_logger, _options.TokenDescription, ex.Message);
                throw new CaKeyUnavailableException($"{Description} is unavailable and not tried again until the server restarts: {ex.Message}", ex);
            }
            catch (CaConfigurationException ex) when (ex.Problem is CaConfigurationProblem.KeyMissing or CaConfigurationProblem.KeyMismatch)
            {
                // Logged in, but the key is not there (a token being restored or swapped): tried again, once a minute.
                _reconnectInterval = s_keyMissingInterval;
                Pkcs11Log.ReconnectFailed(_logger, _options.TokenDescription, ex.Message);
                throw new CaKeyUnavailableException($"{Description} is unavailable: {ex.Message}; trying again in a minute", ex);
            }
            catch (Exception ex) when (ex is CaConfigurationException or Pkcs11Exception or CaKeyUnavailableException)
            {
                Pkcs11Log.ReconnectFailed(_logger, _options.TokenDescription, ex.Message);
                throw ex as CaKeyUnavailableException ?? new CaKeyUnavailableException($"{Description} is unavailable: {ex.Message}", ex);
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private CaKeyUnavailableException Lost(Connection connection, Pkcs11Exception ex)
    {
        bool first;
        lock (connection)
        {
            first = !connection.Lost;
            connection.Lost = true;
        }

        if (first)
        {
            Pkcs11Log.Lost(_logger, _options.TokenDescription, ex.RV.ToString());
            Close(connection);
        }

        return new CaKeyUnavailableException($"the session to {_options.TokenDescription} was lost ({ex.RV}); reconnecting", ex);
    }

    private static (Connection, AsymmetricAlgorithm) Connect(Pkcs11Module module, Pkcs11KeyOptions options, string pin, bool createIfMissing, ILogger logger)
    {
        ISlot slot = Pkcs11Token.FindSlot(module, options);
        ISession session = slot.OpenSession(createIfMissing ? SessionType.ReadWrite : SessionType.ReadOnly);
        try
        {
            Pkcs11Token.Login(session, pin, options);
            IObjectHandle? key = Pkcs11Token.FindPrivateKey(session, options);
            if (key is null)
            {
                if (!createIfMissing)
                {
                    throw new CaConfigurationException(null, CaConfigurationProblem.KeyMissing,
                        $"{options.TokenDescription} has no private key with {options.KeyDescription}; create it with `coapenroll ca init` or name an existing one");
                }

                key = Pkcs11Token.Generate(session, options);
                Pkcs11Log.Generated(logger, options.KeyDescription, options.TokenDescription, options.KeyType.ToString());
            }

            AsymmetricAlgorithm publicKey = Pkcs11Token.ReadPublicKey(session, key, options);
            return (new Connection(slot, session, key), publicKey);
        }
        catch
        {
            CloseQuietly(session);
            throw;
        }
    }

    private static void Close(Connection connection)
    {
        while (connection.Idle.TryTake(out ISession? idle))
        {
            CloseQuietly(idle);
        }

        CloseQuietly(connection.LoginSession);
    }

    // A session of a lost token cannot be closed either, nor one of a module initialized again since; nothing is left to do about it.
    private static void CloseQuietly(ISession session)
    {
        try
        {
            session.Dispose();
        }
        catch (Exception ex) when (ex is Pkcs11Exception or ObjectDisposedException)
        {
        }
    }

    private sealed class Connection(ISlot slot, ISession loginSession, IObjectHandle key)
    {
        public ISlot Slot { get; } = slot;

        public ISession LoginSession { get; } = loginSession;

        public IObjectHandle Key { get; } = key;

        public ConcurrentBag<ISession> Idle { get; } = [];

        public bool Lost { get; set; }
    }
}
