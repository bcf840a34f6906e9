import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, toHex } from "viem";
import type { NodeRegistry } from "../../typechain-types";
import { keyProof, signedRegistry } from "../helpers/keys";
import { BOOKKEEPER_KEY_SUBJECT } from "../../offchain/chain/staking";
import { domainOf, typedDigest } from "../../offchain/core/signing";
import { skipUnderCoverage } from "../helpers/coverage";

const Kind = { Storage: 0, Container: 1, Meta: 2 } as const;
const Tier = { Lite: 0, Normal: 1, Super: 2 } as const;
const id = (s: string) => keccak256(toHex(s));

async function registryFixture() {
  const [admin, operator, other, key1, key2, key3, payout, bookkeeper] = await ethers.getSigners();
  const registry = (await (await ethers.getContractFactory("NodeRegistry")).deploy(admin.address)) as NodeRegistry;
  const base = {
    nodeId: id("node-1"),
    kind: Kind.Storage,
    tier: Tier.Normal,
    region: 156,
    capacity: 2048n,
    signingKey: key1.address,
    payout: payout.address,
    endpoint: "https://node-1.example:4001",
  };
  return { registry, admin, operator, other, key1, key2, key3, payout, bookkeeper, base };
}

describe("NodeRegistry", () => {
  describe("registration", () => {
    it("registers a node with every field readable and one complete event", async () => {
      const { registry, operator, base, key1, payout } = await loadFixture(registryFixture);
      const tx = signedRegistry(registry, operator).registerNode(base);
      await expect(tx)
        .to.emit(registry, "NodeRegistered")
        .withArgs(
          base.nodeId,
          operator.address,
          Kind.Storage,
          Tier.Normal,
          156,
          2048n,
          key1.address,
          payout.address,
          base.endpoint,
        );
      const block = await ethers.provider.getBlock("latest");
      const info = await registry.getNode(base.nodeId);
      expect(info.operator).to.equal(operator.address);
      expect(info.signingKey).to.equal(key1.address);
      expect(info.payout).to.equal(payout.address);
      expect(info.kind).to.equal(Kind.Storage);
      expect(info.tier).to.equal(Tier.Normal);
      expect(info.region).to.equal(156n);
      expect(info.capacity).to.equal(2048n);
      expect(info.registeredAt).to.equal(BigInt(block!.timestamp));
      expect(info.active).to.equal(true);
      expect(info.endpoint).to.equal(base.endpoint);
      expect(await registry.operatorOf(base.nodeId)).to.equal(operator.address);
      expect(await registry.payoutOf(base.nodeId)).to.equal(payout.address);
      expect(await registry.signingKeyOf(base.nodeId)).to.equal(key1.address);
      expect(await registry.resourceProfile(base.nodeId)).to.deep.equal([
        BigInt(Kind.Storage),
        BigInt(Tier.Normal),
        156n,
        true,
      ]);
      expect(await registry.keyOwner(key1.address)).to.deep.equal([base.nodeId, ethers.ZeroAddress]);
    });

    it("registers container and meta nodes; a meta node may advertise zero capacity", async () => {
      const { registry, operator, base, key2, key3 } = await loadFixture(registryFixture);
      await signedRegistry(registry, operator).registerNode({
        ...base,
        nodeId: id("c"),
        kind: Kind.Container,
        signingKey: key2.address,
        tier: Tier.Super,
      });
      await signedRegistry(registry, operator).registerNode({
        ...base,
        nodeId: id("m"),
        kind: Kind.Meta,
        signingKey: key3.address,
        capacity: 0n,
      });
      expect((await registry.resourceProfile(id("c")))[0]).to.equal(BigInt(Kind.Container));
      expect((await registry.resourceProfile(id("c")))[1]).to.equal(BigInt(Tier.Super));
      expect((await registry.getNode(id("m"))).kind).to.equal(Kind.Meta);
    });

    it("rejects a zero or duplicate id, unknown kind or tier, zero capacity, empty or long endpoint, zero payout", async () => {
      const { registry, operator, other, base, key2 } = await loadFixture(registryFixture);
      const r = signedRegistry(registry, operator);
      await expect(r.registerNode({ ...base, nodeId: ethers.ZeroHash })).to.be.revertedWithCustomError(
        registry,
        "ZeroNodeId",
      );
      await expect(r.registerNode({ ...base, kind: 3 }))
        .to.be.revertedWithCustomError(registry, "UnknownKind")
        .withArgs(3);
      await expect(r.registerNode({ ...base, tier: 3 }))
        .to.be.revertedWithCustomError(registry, "UnknownTier")
        .withArgs(3);
      await expect(r.registerNode({ ...base, capacity: 0n })).to.be.revertedWithCustomError(registry, "ZeroCapacity");
      await expect(r.registerNode({ ...base, kind: Kind.Container, capacity: 0n })).to.be.revertedWithCustomError(
        registry,
        "ZeroCapacity",
      );
      await expect(r.registerNode({ ...base, endpoint: "" })).to.be.revertedWithCustomError(registry, "EmptyEndpoint");
      await expect(r.registerNode({ ...base, endpoint: "x".repeat(257) }))
        .to.be.revertedWithCustomError(registry, "EndpointTooLong")
        .withArgs(257, 256);
      await expect(r.registerNode({ ...base, payout: ethers.ZeroAddress })).to.be.revertedWithCustomError(
        registry,
        "ZeroPayout",
      );
      await expect(r.registerNode({ ...base, signingKey: ethers.ZeroAddress })).to.be.revertedWithCustomError(
        registry,
        "ZeroKey",
      );
      await r.registerNode(base);
      // Another operator cannot take the id, even with a fresh key.
      await expect(signedRegistry(registry, other).registerNode({ ...base, signingKey: key2.address }))
        .to.be.revertedWithCustomError(registry, "NodeExists")
        .withArgs(base.nodeId);
    });

    it("refuses a signing key already used by another node or by a bookkeeper", async () => {
      const { registry, operator, other, base, key1, key2, bookkeeper } = await loadFixture(registryFixture);
      await signedRegistry(registry, operator).registerNode(base);
      await expect(signedRegistry(registry, other).registerNode({ ...base, nodeId: id("node-2") }))
        .to.be.revertedWithCustomError(registry, "KeyInUse")
        .withArgs(key1.address, base.nodeId, ethers.ZeroAddress);
      await signedRegistry(registry, bookkeeper).setBookkeeperKey(key2.address);
      await expect(
        signedRegistry(registry, other).registerNode({ ...base, nodeId: id("node-2"), signingKey: key2.address }),
      )
        .to.be.revertedWithCustomError(registry, "KeyInUse")
        .withArgs(key2.address, ethers.ZeroHash, bookkeeper.address);
      await expect(signedRegistry(registry, other).setBookkeeperKey(key1.address))
        .to.be.revertedWithCustomError(registry, "KeyInUse")
        .withArgs(key1.address, base.nodeId, ethers.ZeroAddress);
    });

    it("unknown ids: getNode / payoutOf / resourceProfile revert, operatorOf / signingKeyOf are zero", async () => {
      const { registry } = await loadFixture(registryFixture);
      const unknown = id("nope");
      await expect(registry.getNode(unknown)).to.be.revertedWithCustomError(registry, "UnknownNode").withArgs(unknown);
      await expect(registry.payoutOf(unknown)).to.be.revertedWithCustomError(registry, "UnknownNode").withArgs(unknown);
      await expect(registry.resourceProfile(unknown))
        .to.be.revertedWithCustomError(registry, "UnknownNode")
        .withArgs(unknown);
      expect(await registry.operatorOf(unknown)).to.equal(ethers.ZeroAddress);
      expect(await registry.signingKeyOf(unknown)).to.equal(ethers.ZeroAddress);
      expect(await registry.isRetired(unknown)).to.equal(false);
    });
  });

  describe("operator changes", () => {
    it("rotates the signing key, releasing the old one for anybody", async () => {
      const { registry, operator, other, base, key1, key2 } = await loadFixture(registryFixture);
      await signedRegistry(registry, operator).registerNode(base);
      await expect(signedRegistry(registry, operator).setSigningKey(base.nodeId, key2.address))
        .to.emit(registry, "SigningKeyChanged")
        .withArgs(base.nodeId, key1.address, key2.address);
      expect(await registry.signingKeyOf(base.nodeId)).to.equal(key2.address);
      expect(await registry.keyOwner(key1.address)).to.deep.equal([ethers.ZeroHash, ethers.ZeroAddress]);
      await signedRegistry(registry, other).registerNode({ ...base, nodeId: id("node-2"), signingKey: key1.address });
      await expect(
        signedRegistry(registry, operator).setSigningKey(base.nodeId, key1.address),
      ).to.be.revertedWithCustomError(registry, "KeyInUse");
      await expect(
        signedRegistry(registry, operator).setSigningKey(base.nodeId, ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(registry, "ZeroKey");
    });

    it("changes payout, endpoint, profile and active state with events; only the operator may", async () => {
      const { registry, operator, other, base, payout } = await loadFixture(registryFixture);
      await signedRegistry(registry, operator).registerNode(base);
      const r = registry.connect(operator);
      await expect(r.setPayout(base.nodeId, other.address))
        .to.emit(registry, "PayoutChanged")
        .withArgs(base.nodeId, payout.address, other.address);
      expect(await registry.payoutOf(base.nodeId)).to.equal(other.address);
      await expect(r.setPayout(base.nodeId, ethers.ZeroAddress)).to.be.revertedWithCustomError(registry, "ZeroPayout");
      await expect(r.setEndpoint(base.nodeId, "quic://n1:9000"))
        .to.emit(registry, "EndpointChanged")
        .withArgs(base.nodeId, "quic://n1:9000");
      await expect(r.setEndpoint(base.nodeId, "")).to.be.revertedWithCustomError(registry, "EmptyEndpoint");
      await expect(r.setProfile(base.nodeId, Tier.Super, 840, 4096n))
        .to.emit(registry, "ProfileChanged")
        .withArgs(base.nodeId, Tier.Super, 840, 4096n);
      expect(await registry.resourceProfile(base.nodeId)).to.deep.equal([
        BigInt(Kind.Storage),
        BigInt(Tier.Super),
        840n,
        true,
      ]);
      await expect(r.setProfile(base.nodeId, 7, 840, 4096n))
        .to.be.revertedWithCustomError(registry, "UnknownTier")
        .withArgs(7);
      await expect(r.setProfile(base.nodeId, Tier.Lite, 840, 0n)).to.be.revertedWithCustomError(
        registry,
        "ZeroCapacity",
      );
      await expect(r.setActive(base.nodeId, false)).to.emit(registry, "ActiveChanged").withArgs(base.nodeId, false);
      await expect(r.setActive(base.nodeId, false))
        .to.be.revertedWithCustomError(registry, "ActiveUnchanged")
        .withArgs(base.nodeId, false);
      expect((await registry.resourceProfile(base.nodeId))[3]).to.equal(false);
      await expect(r.setActive(base.nodeId, true)).to.emit(registry, "ActiveChanged").withArgs(base.nodeId, true);

      const o = registry.connect(other);
      for (const call of [
        () => signedRegistry(registry, other).setSigningKey(base.nodeId, other.address),
        () => o.setPayout(base.nodeId, other.address),
        () => o.setEndpoint(base.nodeId, "x"),
        () => o.setProfile(base.nodeId, 0, 0, 1n),
        () => o.setActive(base.nodeId, false),
        () => o.deregister(base.nodeId),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(registry, "NotOperator")
          .withArgs(base.nodeId, other.address);
      }
      await expect(o.setPayout(id("nope"), other.address)).to.be.revertedWithCustomError(registry, "UnknownNode");
    });

    it("deregisters for good: key released, id never reusable, payout still readable and changeable", async () => {
      const { registry, operator, other, base, key1, key2, payout } = await loadFixture(registryFixture);
      await signedRegistry(registry, operator).registerNode(base);
      await expect(registry.connect(operator).deregister(base.nodeId))
        .to.emit(registry, "NodeDeregistered")
        .withArgs(base.nodeId, operator.address, key1.address);
      expect(await registry.isRetired(base.nodeId)).to.equal(true);
      expect(await registry.payoutOf(base.nodeId)).to.equal(payout.address);
      expect(await registry.signingKeyOf(base.nodeId)).to.equal(ethers.ZeroAddress);
      expect((await registry.resourceProfile(base.nodeId))[3]).to.equal(false);
      await expect(
        signedRegistry(registry, other).registerNode({ ...base, signingKey: key2.address }),
      ).to.be.revertedWithCustomError(registry, "NodeExists");
      await signedRegistry(registry, other).registerNode({ ...base, nodeId: id("node-2") }); // key1 is free again
      const r = registry.connect(operator);
      for (const call of [
        () => signedRegistry(registry, operator).setSigningKey(base.nodeId, key2.address),
        () => r.setEndpoint(base.nodeId, "x"),
        () => r.setProfile(base.nodeId, 0, 0, 1n),
        () => r.setActive(base.nodeId, true),
        () => r.deregister(base.nodeId),
      ]) {
        await expect(call()).to.be.revertedWithCustomError(registry, "NodeRetired").withArgs(base.nodeId);
      }
      await expect(r.setPayout(base.nodeId, other.address)).to.emit(registry, "PayoutChanged");
    });
  });

  describe("bookkeeper keys and governance", () => {
    it("sets, rotates and clears a bookkeeper key", async () => {
      const { registry, bookkeeper, key1, key2 } = await loadFixture(registryFixture);
      const r = registry.connect(bookkeeper);
      const s = signedRegistry(registry, bookkeeper);
      await expect(s.setBookkeeperKey(key1.address))
        .to.emit(registry, "BookkeeperKeyChanged")
        .withArgs(bookkeeper.address, ethers.ZeroAddress, key1.address);
      expect(await registry.bookkeeperKeyOf(bookkeeper.address)).to.equal(key1.address);
      expect(await registry.keyOwner(key1.address)).to.deep.equal([ethers.ZeroHash, bookkeeper.address]);
      await expect(s.setBookkeeperKey(key2.address))
        .to.emit(registry, "BookkeeperKeyChanged")
        .withArgs(bookkeeper.address, key1.address, key2.address);
      expect(await registry.keyOwner(key1.address)).to.deep.equal([ethers.ZeroHash, ethers.ZeroAddress]);
      await expect(s.setBookkeeperKey(key2.address)).to.be.revertedWithCustomError(registry, "KeyInUse");
      await expect(s.setBookkeeperKey(ethers.ZeroAddress)).to.be.revertedWithCustomError(registry, "ZeroKey");
      await expect(r.clearBookkeeperKey())
        .to.emit(registry, "BookkeeperKeyChanged")
        .withArgs(bookkeeper.address, key2.address, ethers.ZeroAddress);
      expect(await registry.bookkeeperKeyOf(bookkeeper.address)).to.equal(ethers.ZeroAddress);
      await expect(r.clearBookkeeperKey())
        .to.be.revertedWithCustomError(registry, "NoBookkeeperKey")
        .withArgs(bookkeeper.address);
    });

    it("governance bounds the endpoint length", async () => {
      const { registry, admin, other, operator, base } = await loadFixture(registryFixture);
      await expect(registry.connect(other).setMaxEndpointLength(64)).to.be.revertedWithCustomError(
        registry,
        "AccessControlUnauthorizedAccount",
      );
      await expect(registry.connect(admin).setMaxEndpointLength(31))
        .to.be.revertedWithCustomError(registry, "EndpointLimitOutOfBounds")
        .withArgs(31, 32, 2048);
      await expect(registry.connect(admin).setMaxEndpointLength(2049)).to.be.revertedWithCustomError(
        registry,
        "EndpointLimitOutOfBounds",
      );
      await expect(registry.connect(admin).setMaxEndpointLength(32))
        .to.emit(registry, "MaxEndpointLengthChanged")
        .withArgs(256, 32);
      await expect(signedRegistry(registry, operator).registerNode({ ...base, endpoint: "x".repeat(33) }))
        .to.be.revertedWithCustomError(registry, "EndpointTooLong")
        .withArgs(33, 32);
      await signedRegistry(registry, operator).registerNode({ ...base, endpoint: "x".repeat(32) });
    });

    it("payoutOf costs a single cold storage read", async function () {
      skipUnderCoverage(this);
      const { registry, operator, base } = await loadFixture(registryFixture);
      await signedRegistry(registry, operator).registerNode(base);
      const gas = await registry.payoutOf.estimateGas(base.nodeId);
      // 21,000 intrinsic + calldata + one cold SLOAD (2,100) + dispatch; a second slot would add 2,100 more.
      expect(gas).to.be.lessThan(21_000n + 1_000n + 2_100n + 1_000n);
    });
  });
  describe("key proofs: a key is registered only with its holder's signature (issue 16 B.7)", () => {
    it("a squatter cannot take a key someone is about to register, not even with the victim's own proof", async () => {
      const { registry, operator, other, base, key1 } = await loadFixture(registryFixture);
      // The victim's registration is in the mempool: its key and its proof are public.
      const victimProof = await keyProof(registry, key1, operator.address, base.nodeId);
      // Before issue 16 the squatter's setBookkeeperKey(key1) landed first and the victim got KeyInUse.
      await expect(registry.connect(other).setBookkeeperKey(key1.address, victimProof))
        .to.be.revertedWithCustomError(registry, "InvalidKeyProof")
        .withArgs(key1.address, (addr: string) => addr !== key1.address);
      await expect(registry.connect(other).registerNode({ ...base, nodeId: id("squat") }, victimProof))
        .to.be.revertedWithCustomError(registry, "InvalidKeyProof")
        .withArgs(key1.address, (addr: string) => addr !== key1.address);
      // Same proof, other registrant (the front-runner copies the whole call): bound to the sender.
      await expect(registry.connect(other).registerNode(base, victimProof)).to.be.revertedWithCustomError(
        registry,
        "InvalidKeyProof",
      );
      // A proof the squatter can make (signed by its own account) names the wrong key.
      const own = await keyProof(registry, other, other.address, BOOKKEEPER_KEY_SUBJECT);
      await expect(registry.connect(other).setBookkeeperKey(key1.address, own))
        .to.be.revertedWithCustomError(registry, "InvalidKeyProof")
        .withArgs(key1.address, other.address);
      await expect(registry.connect(operator).registerNode(base, victimProof)).to.emit(registry, "NodeRegistered");
      expect(await registry.keyOwner(key1.address)).to.deep.equal([base.nodeId, ethers.ZeroAddress]);
      expect(await registry.nonces(key1.address)).to.equal(1n);
    });

    it("rejects a wrong signer, a proof for another subject, and a malformed signature", async () => {
      const { registry, operator, bookkeeper, base, key1, key2 } = await loadFixture(registryFixture);
      const byKey2 = await keyProof(registry, key2, operator.address, base.nodeId);
      await expect(registry.connect(operator).registerNode(base, byKey2))
        .to.be.revertedWithCustomError(registry, "InvalidKeyProof")
        .withArgs(key1.address, key2.address);
      // Signed for a bookkeeper key: not a node key (and vice versa).
      const asBookkeeper = await keyProof(registry, key1, operator.address, BOOKKEEPER_KEY_SUBJECT);
      await expect(registry.connect(operator).registerNode(base, asBookkeeper)).to.be.revertedWithCustomError(
        registry,
        "InvalidKeyProof",
      );
      const asNode = await keyProof(registry, key1, bookkeeper.address, base.nodeId);
      await expect(registry.connect(bookkeeper).setBookkeeperKey(key1.address, asNode)).to.be.revertedWithCustomError(
        registry,
        "InvalidKeyProof",
      );
      // Another node id of the same operator.
      const otherNode = await keyProof(registry, key1, operator.address, id("node-9"));
      await expect(registry.connect(operator).registerNode(base, otherNode)).to.be.revertedWithCustomError(
        registry,
        "InvalidKeyProof",
      );
      const good = await keyProof(registry, key1, operator.address, base.nodeId);
      for (const signature of ["0x", `0x${"00".repeat(65)}`, good.signature.slice(0, 130)] as const) {
        await expect(registry.connect(operator).registerNode(base, { ...good, signature }))
          .to.be.revertedWithCustomError(registry, "InvalidKeyProof")
          .withArgs(key1.address, ethers.ZeroAddress);
      }
      await registry.connect(operator).registerNode(base, good);
    });

    it("rejects an expired proof, and accepts one up to its deadline", async () => {
      const { registry, operator, bookkeeper, base, key1, key2 } = await loadFixture(registryFixture);
      const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      const stale = await keyProof(registry, key1, operator.address, base.nodeId, { deadline: now });
      await expect(registry.connect(operator).registerNode(base, stale))
        .to.be.revertedWithCustomError(registry, "KeyProofExpired")
        .withArgs(now, (t: bigint) => t > now);
      await time.setNextBlockTimestamp(now + 100n);
      const exact = await keyProof(registry, key2, bookkeeper.address, BOOKKEEPER_KEY_SUBJECT, {
        deadline: now + 100n,
      });
      await expect(registry.connect(bookkeeper).setBookkeeperKey(key2.address, exact)).to.emit(
        registry,
        "BookkeeperKeyChanged",
      );
    });

    it("a proof is used once: replaying it after the key was released fails (the key's nonce moved)", async () => {
      const { registry, operator, bookkeeper, base, key1, key2 } = await loadFixture(registryFixture);
      const proof = await keyProof(registry, key1, bookkeeper.address, BOOKKEEPER_KEY_SUBJECT);
      await registry.connect(bookkeeper).setBookkeeperKey(key1.address, proof);
      await registry.connect(bookkeeper).clearBookkeeperKey(); // key1 is free again
      await expect(registry.connect(bookkeeper).setBookkeeperKey(key1.address, proof))
        .to.be.revertedWithCustomError(registry, "InvalidAccountNonce")
        .withArgs(key1.address, 1n);
      // The same holds for node keys, through setSigningKey: rotate away, then replay.
      const nodeProof = await keyProof(registry, key2, operator.address, base.nodeId);
      await registry.connect(operator).registerNode({ ...base, signingKey: key2.address }, nodeProof);
      await signedRegistry(registry, operator).setSigningKey(base.nodeId, key1.address);
      await expect(registry.connect(operator).setSigningKey(base.nodeId, key2.address, nodeProof))
        .to.be.revertedWithCustomError(registry, "InvalidAccountNonce")
        .withArgs(key2.address, 1n);
      // A fresh proof with the key's current nonce works.
      await expect(signedRegistry(registry, operator).setSigningKey(base.nodeId, key2.address))
        .to.emit(registry, "SigningKeyChanged")
        .withArgs(base.nodeId, key1.address, key2.address);
      expect(await registry.nonces(key2.address)).to.equal(2n);
    });

    it("the digest is the TypeScript EIP-712 KeyRegistration digest in the HMS NodeRegistry domain", async () => {
      const { registry, operator, base } = await loadFixture(registryFixture);
      const chainId = (await ethers.provider.getNetwork()).chainId;
      const domain = domainOf("registry", chainId, (await registry.getAddress()) as `0x${string}`);
      for (const [nonce, deadline] of [
        [0n, 0n],
        [7n, 1_700_000_000n],
        [2n ** 256n - 1n, 2n ** 256n - 1n],
      ]) {
        const message = { registrant: operator.address as `0x${string}`, subject: base.nodeId, nonce, deadline };
        expect(await registry.keyRegistrationDigest(operator.address, base.nodeId, nonce, deadline)).to.equal(
          typedDigest(domain, "KeyRegistration", message),
        );
      }
      const [, name, version, chain, verifyingContract] = await registry.eip712Domain();
      expect([name, version, chain, verifyingContract]).to.deep.equal([
        "HMS NodeRegistry",
        "1",
        chainId,
        await registry.getAddress(),
      ]);
    });
  });
});
