"""Thread: one conversation as the next request needs it, and its record in the conversation log.

Continuing a conversation sends its whole history by default: every earlier prompt (with the files
attached at that turn, by id: nothing is uploaded or read again; its images, read again from their
paths) and answer, then the new prompt.
That works with any server, zero-data-retention teams included. In store mode (`--store`) the
server keeps each response (`store_messages`) and the next turn sends only the new prompt with
`previous_response_id`; the history is still kept locally, and sent in full again once when a
file of the conversation had to be replaced (an expired upload sent again under a new id).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from xai_files_cli.core.chat import Message
from xai_files_cli.core.conversation_log import (
    AttachedFile,
    Conversation,
    ConversationLog,
    NewConversation,
    Turn,
    title_of,
    with_names,
)

if TYPE_CHECKING:
    from xai_files_cli.core.chat import ChatReply

EXPIRY_MARGIN = 60.0  # seconds: a file that expires sooner than this counts as expired already


@dataclass
class Thread:
    """History, files and continuation mode of a conversation; `log` None records nothing."""

    log: ConversationLog | None
    system: str | None = None
    store: bool = False
    host: str = ""
    conversation_id: str | None = None  # None until the first turn is recorded
    model: str | None = None  # the conversation's model so far
    history: list[Message] = field(default_factory=list)
    files: list[AttachedFile] = field(default_factory=list)  # attached at earlier turns
    turns: int = 0
    previous_response_id: str | None = None  # the last response, when the server stored it
    replaced: dict[str, str] = field(default_factory=dict)  # file ids replaced since the last record
    recording: bool = True
    unreadable_images: list[str] = field(default_factory=list)  # logged images that could not be sent

    @classmethod
    def resume(cls, log: ConversationLog, conversation: Conversation, *, store: bool, record: bool) -> Thread:
        """Go on with a logged conversation (store mode when it was stored or `store` asks for it)."""
        history: list[Message] = []
        for turn in conversation.turns:
            history.append(Message("user", turn.prompt, turn.file_ids, turn.images))
            history.append(Message("assistant", turn.content))
        last = conversation.turns[-1] if conversation.turns else None
        return cls(
            log=log,
            system=conversation.system,
            store=store or conversation.store,
            host=conversation.host,
            conversation_id=conversation.id,
            model=conversation.model,
            history=history,
            files=list(conversation.files),
            turns=len(conversation.turns),
            previous_response_id=last.response_id if last is not None and last.stored else None,
            recording=record,
        )

    # -- the next request -----------------------------------------------------------------------
    def messages_for(self, user: Message) -> tuple[list[Message], str | None]:
        """What to send for the prompt `user`: (messages, previous_response_id or None)."""
        if self.store and self.previous_response_id is not None and not self.replaced:
            return [user], self.previous_response_id
        system = [Message("system", self.system)] if self.system else []
        self.history = [self._with_images_read(message) for message in self.history]
        return [*system, *self.history, user], None

    def _with_images_read(self, message: Message) -> Message:
        """`message` with its logged images (local paths) read into data: URIs, once; an image that
        can no longer be read is left out and added to `unreadable_images`."""
        from xai_files_cli.core.chat import image_source
        from xai_files_cli.errors import UsageError

        if not message.images:
            return message
        sent = []
        for image in message.images:
            try:
                sent.append(image_source(image))
            except UsageError:
                self.unreadable_images.append(image)
        return replace(message, images=tuple(sent))

    def expired_uploads(self, now: float | None = None) -> list[AttachedFile]:
        """Files attached from a local path that the server has deleted (or will within a minute):
        uploaded for this conversation, or an earlier upload of the same content it reused."""
        moment = time.time() if now is None else now
        return [f for f in self.files if f.path is not None and f.expired(moment, EXPIRY_MARGIN)]

    def replace_file(self, old: str, new: AttachedFile) -> None:
        """File `old` (expired) is `new` from now on, in every earlier turn too."""
        self.history = [
            replace(m, file_ids=tuple(new.file_id if f == old else f for f in m.file_ids))
            for m in self.history
        ]
        self.files = [new if f.file_id == old else f for f in self.files]
        self.replaced[old] = new.file_id

    # -- after the answer -----------------------------------------------------------------------
    def add_turn(
        self,
        user: Message,
        reply: ChatReply,
        new_files: list[AttachedFile],
        images: tuple[str, ...] = (),
    ) -> bool:
        """Take the answered turn into the history and, unless --no-log, the log (one transaction).

        Returns whether it was recorded (False with --no-log).
        Raises XaiError (InternalError) when the log cannot take it; the history has it anyway.
        """
        names = {c.file_id: c.name for c in reply.citations if c.file_id and c.name}
        new_files = with_names(new_files, names)
        self.files = with_names(self.files, names)
        known = {f.file_id for f in self.files}
        self.files += [f for f in new_files if f.file_id not in known]
        self.history += [user, Message("assistant", reply.content)]
        self.turns += 1
        self.model = reply.model or self.model
        self.previous_response_id = reply.id if self.store and reply.id else None
        replaced, self.replaced = self.replaced, {}
        if self.log is None or not self.recording:
            return False
        turn = Turn(
            seq=self.turns,
            prompt=user.text,
            content=reply.content,
            model=reply.model,
            response_id=reply.id,
            created_at=time.time(),
            reasoning_content=reply.reasoning_content,
            stored=self.store,
            finish_reason=reply.finish_reason,
            usage=reply.usage.to_json(),
            citations=[c.to_json() for c in reply.citations],
            sources=list(reply.sources),
            file_ids=user.file_ids,
            images=images,
        )
        new = None
        if self.conversation_id is None:
            self.conversation_id = self.log.new_id()
            new = NewConversation(
                self.conversation_id, title_of(user.text), self.system, self.store, self.host
            )
        named = {f.file_id: f for f in self.files}
        recorded = [named[f.file_id] for f in new_files if f.file_id in named]
        recorded += [named[new_id] for new_id in replaced.values() if new_id in named]
        try:
            self.log.record_turn(self.conversation_id, turn, recorded, new=new, replaced=replaced)
        except BaseException:
            self.recording = False  # the rest of the session is not recorded either
            if new is not None:
                self.conversation_id = None
            raise
        return True
