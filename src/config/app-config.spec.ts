import { loadConfig } from './app-config';

describe('TRUST_PROXY', () => {
  it('trusts no proxy unless set, so X-Forwarded-For is not the client address', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
  });

  it('reads a hop count as a number and addresses, ranges or names as they are', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.4' }).trustProxy).toBe('10.0.0.0/8, 192.168.1.4');
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'everyone!' })).toThrow(/TRUST_PROXY/);
  });
});
